// Runs the in-process suites again as several nodes run: every Berth they make keeps its metadata
// in PostgreSQL instead of SQLite (a throwaway server from Debian's package) and its blobs in an
// S3 bucket instead of the data directory (s3rver from npm): the services must not know which
// stores they are on. Usage: node dist-test/scripts/test-on-postgres.js [files...]
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { postgresInstalled, startPostgres } from '../test/support/postgres-process.js';
import { s3ProfileVariable } from '../test/support/profile-blob-store.js';
import { postgresProfileVariable } from '../test/support/profile-database.js';
import { startS3 } from '../test/support/s3-process.js';

const suites = ['test/protocol', 'test/auth', 'test/packages', 'test/web', 'test/gc', 'test/audit', 'test/quotas', 'test/webhooks'];

async function testFiles(): Promise<string[]> {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
  const files = await Promise.all(
    suites.map(async (suite) => (await readdir(path.join(root, suite))).filter((name) => name.endsWith('.test.js')).map((name) => path.join(root, suite, name))),
  );
  return files.flat().sort();
}

if (!(await postgresInstalled())) {
  if (process.env['CI'] === 'true') throw new Error('CI must run the suites on PostgreSQL, but postgresql is not installed');
  process.stdout.write('# the suites on PostgreSQL are skipped: postgresql is not installed\n');
  process.exit(0);
}
const [server, s3] = await Promise.all([startPostgres(), startS3()]);
let code = 1;
try {
  const files = process.argv.length > 2 ? process.argv.slice(2) : await testFiles();
  process.stdout.write(`# ${files.length} test files on PostgreSQL and S3\n`);
  code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=2', ...files], {
      stdio: 'inherit',
      env: {
        ...process.env,
        [postgresProfileVariable]: JSON.stringify(server.connection),
        [s3ProfileVariable]: JSON.stringify({ endpoint: s3.endpoint, bucket: s3.bucket }),
      },
    });
    child.on('error', reject);
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
} finally {
  await Promise.all([server.close(), s3.close()]);
}
process.exit(code);
