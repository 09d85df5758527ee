import type { DatabaseEngine } from './engine.js';
import { openSqlite } from './sqlite/engine.js';

/**
 * Opens and migrates the metadata database: PostgreSQL when a `postgres://` URL is given, shared
 * by any number of nodes; otherwise the embedded SQLite database of the data directory. The one
 * way the server, the CLI and the tests reach it.
 */
export async function openDatabase(dataDir: string, url?: string): Promise<DatabaseEngine> {
  if (!url) return openSqlite(dataDir);
  // Loaded only here, so that an installation on SQLite never loads the PostgreSQL driver.
  const { openPostgres } = await import('./postgres/engine.js');
  return openPostgres({ connectionString: url });
}
