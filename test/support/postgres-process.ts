import { execFile } from 'node:child_process';
import { access, chown, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { type DaemonHandle, startDaemon } from './daemon-process.js';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 server binaries (package `postgresql`), not on the PATH. */
const binaries = '/usr/lib/postgresql/15/bin';

/** Whether the PostgreSQL server binaries are installed. */
export async function postgresInstalled(): Promise<boolean> {
  return access(path.join(binaries, 'initdb')).then(
    () => true,
    () => false,
  );
}

export interface PostgresHandle {
  /** Connection settings for `pg`: a Unix socket in the cluster's temp dir, no password. */
  readonly connection: pg.PoolConfig;
  /** Stops the server (after the caller closed its connections) and removes the cluster. */
  close(): Promise<void>;
}

/**
 * A throwaway PostgreSQL cluster in a temp dir, listening only on a Unix socket there. PostgreSQL
 * refuses to run as root, so under root the cluster belongs to the `postgres` user the package
 * creates. Durability is off: the cluster lives for one test file.
 */
export async function startPostgres(): Promise<PostgresHandle> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-pg-'));
  const user = process.getuid?.() === 0 ? await postgresUser() : undefined;
  if (user) await chown(dir, user.uid, user.gid);
  const data = path.join(dir, 'data');
  await run(path.join(binaries, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C'], { ...user, timeout: 120_000 });
  const connection: pg.PoolConfig = { host: dir, port: 5432, user: 'postgres', database: 'postgres' };
  const daemon: DaemonHandle = await startDaemon({
    command: path.join(binaries, 'postgres'),
    args: ['-D', data, '-k', dir, '-c', 'listen_addresses=', '-c', 'fsync=off', '-c', 'full_page_writes=off'],
    dir,
    user,
    ready: async () => {
      const client = new pg.Client(connection);
      try {
        await client.connect();
        await client.query('select 1');
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => {});
      }
    },
    timeoutMs: 60_000,
    killAfterMs: 10_000,
  });
  return { connection, close: () => daemon.close() };
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}

let databasesMade = 0;

/** A new, empty database on the cluster: its connection settings. */
export async function newDatabase(server: PostgresHandle): Promise<pg.PoolConfig> {
  const name = `berth_${process.pid}_${++databasesMade}`;
  const admin = new pg.Client(server.connection);
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return { ...server.connection, database: name };
}
