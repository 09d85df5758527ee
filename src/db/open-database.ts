import type { DatabaseEngine } from './engine.js';
import { openPostgres } from './postgres/engine.js';
import { openSqlite } from './sqlite/engine.js';

/**
 * Opens and migrates the metadata database: PostgreSQL when a `postgres://` URL is given, shared
 * by any number of nodes; otherwise the embedded SQLite database of the data directory. The one
 * way the server, the CLI and the tests reach it.
 */
export function openDatabase(dataDir: string, url?: string): Promise<DatabaseEngine> {
  return url ? openPostgres({ connectionString: url }) : openSqlite(dataDir);
}
