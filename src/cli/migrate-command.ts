import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/open-database.js';
import { FsBlobStore } from '../storage/fs/fs-blob-store.js';
import { openBlobStore } from '../storage/open-blob-store.js';

type MigrateFlags = Partial<Record<'dataDir' | 'toDatabase' | 'toStorage' | 's3Endpoint' | 's3Region' | 's3PathStyle', string>>;

/** `berth migrate`: from one node's data directory to PostgreSQL, and to S3, for several nodes. */
export function migrateCommand(): Command {
  return new Command('migrate')
    .description(
      'copy an installation from its data directory (SQLite, blob files) to PostgreSQL and, with --to-storage, its blobs to S3; ' +
        'stop the server first. Running it again finishes a migration that was cut off.',
    )
    .option('--data-dir <dir>', 'the data directory to migrate (env BERTH_DATA_DIR; default ./data)')
    .requiredOption('--to-database <url>', 'the postgres:// URL of the target database: empty, or filled by an earlier run of this command')
    .option('--to-storage <url>', 's3://bucket/prefix: copy the blobs there too (credentials from the AWS SDK’s environment); without it they stay in the data directory')
    .option('--s3-endpoint <url>', 'the S3 endpoint of a store other than AWS')
    .option('--s3-region <region>', "the bucket's region (default the AWS SDK's)")
    .option('--s3-path-style <on|off>', 'path-style S3 requests, as most S3-compatible servers want (default off)')
    .action(async (flags: MigrateFlags) => {
      // Only the flags: a BERTH_DATABASE_URL or BERTH_STORAGE in the environment names where this
      // installation serves from now, not where it should go.
      const config = loadConfig(
        {
          dataDir: flags.dataDir ?? process.env['BERTH_DATA_DIR'],
          database: flags.toDatabase,
          storage: flags.toStorage,
          s3Endpoint: flags.s3Endpoint,
          s3Region: flags.s3Region,
          s3PathStyle: flags.s3PathStyle,
        },
        {},
      );
      // The embedded engine's file: opening a directory without one would create an empty database.
      if (!existsSync(path.join(config.dataDir, 'berth.db'))) throw new Error(`${config.dataDir} holds no Berth database (berth.db)`);
      const print = (line: string) => process.stdout.write(`${line}\n`);
      // The database URL is never printed: it may hold a password.
      print(`Migrating ${config.dataDir} to PostgreSQL${config.storage ? ` and ${config.storage}` : ''}.`);
      // Loaded here, so that every other command (`serve` above all) starts without the migration's modules.
      const { migrate } = await import('../migrate/migrate.js');
      const source = await openDatabase(config.dataDir);
      try {
        const target = await openDatabase(config.dataDir, config.database);
        try {
          const summary = await migrate(
            { db: source.db, blobs: new FsBlobStore(config.dataDir) },
            { db: target.db, blobs: config.storage ? await openBlobStore(config) : undefined },
            print,
          );
          if (summary.failedBlobs > 0) {
            throw new Error(
              `${summary.failedBlobs} blob(s) could not be copied (listed above): their bytes in the data directory do not match their digest or are missing; ` +
                'everything else is copied',
            );
          }
        } finally {
          await target.close();
        }
      } finally {
        await source.close();
      }
    });
}
