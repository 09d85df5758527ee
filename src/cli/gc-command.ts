import { Command } from 'commander';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/open-database.js';
import { type CollectionReport, GarbageCollector } from '../gc/garbage-collector.js';
import { openBlobStore } from '../storage/open-blob-store.js';

type GcFlags = Partial<Record<'dataDir' | 'database' | 'storage' | 's3Endpoint' | 's3Region' | 's3PathStyle' | 'config', string>> & { dryRun?: boolean };

/** `berth gc`: a garbage collection now, while the server runs or not. */
export function gcCommand(): Command {
  return new Command('gc')
    .description(
      'remove the blobs that no manifest needs (live, or deleted and still restorable) and that are older than the upload expiry, ' +
        'and stored bytes no blob records; safe while the server runs',
    )
    .option('--dry-run', 'only say what would be removed, and how many bytes')
    .option('--data-dir <dir>', 'the data directory (env BERTH_DATA_DIR; default ./data)')
    .option('--database <url>', 'the postgres:// URL of a multi-node installation (env BERTH_DATABASE_URL)')
    .option('--storage <url>', 's3://bucket/prefix of a multi-node installation (env BERTH_STORAGE)')
    .option('--s3-endpoint <url>', 'the S3 endpoint of a store other than AWS (env BERTH_S3_ENDPOINT)')
    .option('--s3-region <region>', "the bucket's region (env BERTH_S3_REGION)")
    .option('--s3-path-style <on|off>', 'path-style S3 requests (env BERTH_S3_PATH_STYLE)')
    .option('--config <file>', 'the YAML config file the server runs with')
    .action(async ({ dryRun, ...flags }: GcFlags) => {
      const config = loadConfig(flags);
      const engine = await openDatabase(config.dataDir, config.database);
      try {
        const collector = new GarbageCollector(engine, await openBlobStore(config), { graceMs: config.uploadExpiry });
        const report = await engine.exclusively('gc', () => collector.collect({ dryRun: dryRun ?? false }));
        if (!report) throw new Error('a garbage collection is running already');
        process.stdout.write(describe(report));
      } finally {
        await engine.close();
      }
    });
}

function describe(report: CollectionReport): string {
  const would = report.dryRun ? 'would remove' : 'removed';
  return [
    `${report.dryRun ? 'Dry run: nothing was removed. ' : ''}Garbage collection ${would}:`,
    `  ${report.linksRemoved} link(s) of blobs to repositories that no manifest needs`,
    `  ${report.blobsRemoved} blob(s), ${formatBytes(report.bytesReclaimed)}`,
    `  ${report.orphansRemoved} stored blob(s) that no metadata records, ${formatBytes(report.orphanBytesReclaimed)}`,
    `Blobs kept: ${formatBytes(report.bytesStored)}. Took ${(report.durationMs / 1000).toFixed(1)} s.`,
    '',
  ].join('\n');
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}
