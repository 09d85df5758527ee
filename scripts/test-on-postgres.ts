// Runs the in-process suites (protocol, auth, packages, web, gc, webhooks) again with every Berth they make on
// PostgreSQL instead of SQLite, on a throwaway server from Debian's package: the services must
// not know which engine they are on. Usage: node dist-test/scripts/test-on-postgres.js [files...]
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { postgresInstalled, startPostgres } from '../test/support/postgres-process.js';
import { postgresProfileVariable } from '../test/support/profile-database.js';

const suites = ['test/protocol', 'test/auth', 'test/packages', 'test/web', 'test/gc', 'test/webhooks'];

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
const server = await startPostgres();
let code = 1;
try {
  const files = process.argv.length > 2 ? process.argv.slice(2) : await testFiles();
  process.stdout.write(`# ${files.length} test files on PostgreSQL\n`);
  code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=2', ...files], {
      stdio: 'inherit',
      env: { ...process.env, [postgresProfileVariable]: JSON.stringify(server.connection) },
    });
    child.on('error', reject);
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
} finally {
  await server.close();
}
process.exit(code);
