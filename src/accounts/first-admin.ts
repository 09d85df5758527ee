import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hashPassword, randomPassword } from '../auth/passwords.js';
import { privateFileMode } from '../private-files.js';
import type { AccountService } from './account-service.js';
import { parseAccountName } from './names.js';

/** Where the first start leaves the generated administrator password, readable only by its owner. */
export function initialPasswordFile(dataDir: string): string {
  return path.join(dataDir, 'initial-admin-password');
}

/**
 * On first start (no users yet), creates the site administrator: `BERTH_ADMIN_USERNAME` with
 * `BERTH_ADMIN_PASSWORD` when both are set, otherwise `admin` with a random password. The random
 * password goes to a 0600 file in the data directory, never to the output: stdout and stderr of a
 * service end up in journald or log files that others may read. `notify` says where the file is.
 */
export async function ensureFirstAdmin(
  accounts: AccountService,
  env: NodeJS.ProcessEnv,
  dataDir: string,
  notify: (text: string) => void,
  publicUrl: string,
): Promise<void> {
  if ((await accounts.countUsers()) > 0) return;
  const fromEnv = env['BERTH_ADMIN_USERNAME'] && env['BERTH_ADMIN_PASSWORD'];
  const name = parseAccountName(fromEnv ? (env['BERTH_ADMIN_USERNAME'] as string) : 'admin', 'user');
  const password = fromEnv ? (env['BERTH_ADMIN_PASSWORD'] as string) : randomPassword();
  const file = initialPasswordFile(dataDir);
  if (!fromEnv) {
    // Written before the account exists, so that a crash in between cannot leave an administrator
    // whose password nobody knows. A file left by an earlier attempt is replaced, not reused with
    // whatever mode it has.
    await rm(file, { force: true });
    await writeFile(file, `${password}\n`, { flag: 'wx', mode: privateFileMode });
  }
  await accounts.createUser(name, { passwordHash: await hashPassword(password), isAdmin: true });
  if (fromEnv) return;
  notify(
    [
      '',
      `Berth created the administrator "${name}". Its password is in`,
      '',
      `    ${file}`,
      '',
      'readable only by this user. Sign in once, then delete the file. Next steps:',
      `  berth token create --user ${name} --scopes read:packages,write:packages,delete:packages --data-dir <dir>`,
      `  docker login ${new URL(publicUrl).host} -u ${name}   (paste the token as the password)`,
      '',
    ].join('\n'),
  );
}
