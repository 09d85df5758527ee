import type { DatabaseEngine } from './engine.js';
import { openSqlite } from './sqlite/engine.js';

/**
 * Opens and migrates the metadata database of a data directory: the one way the server, the CLI
 * and the tests reach it.
 */
export function openDatabase(dataDir: string): Promise<DatabaseEngine> {
  return openSqlite(dataDir);
}
