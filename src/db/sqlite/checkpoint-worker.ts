/**
 * The thread that checkpoints the SQLite write-ahead log (see `wal-checkpoints.ts`). It holds its
 * own connection to the database and runs one passive checkpoint per message, answering its result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

const port = parentPort;
if (!port) throw new Error('checkpoint-worker runs as a worker thread');

const connection = new SQLite((workerData as { file: string }).file);
// A checkpoint syncs the WAL before it copies pages into the database, and the database after.
connection.pragma('synchronous = NORMAL');
connection.pragma('busy_timeout = 5000');

port.on('message', (message: 'checkpoint' | 'close') => {
  if (message === 'close') {
    connection.close();
    port.close();
    return;
  }
  try {
    const [row] = connection.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
    port.postMessage({ ok: true, log: row?.log ?? 0 });
  } catch (error) {
    port.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) });
  }
});
