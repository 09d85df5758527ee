import { hashPassword, randomPassword } from '../auth/passwords.js';
import type { AccountService } from './account-service.js';
import { parseAccountName } from './names.js';

/**
 * On first start (no users yet), creates the site administrator: `BERTH_ADMIN_USERNAME` with
 * `BERTH_ADMIN_PASSWORD` when both are set, otherwise `admin` with a random password, which is
 * printed once (never logged) with the next steps.
 */
export async function ensureFirstAdmin(
  accounts: AccountService,
  env: NodeJS.ProcessEnv,
  print: (text: string) => void,
  publicUrl: string,
): Promise<void> {
  if ((await accounts.countUsers()) > 0) return;
  const fromEnv = env['BERTH_ADMIN_USERNAME'] && env['BERTH_ADMIN_PASSWORD'];
  const name = parseAccountName(fromEnv ? (env['BERTH_ADMIN_USERNAME'] as string) : 'admin', 'user');
  const password = fromEnv ? (env['BERTH_ADMIN_PASSWORD'] as string) : randomPassword();
  await accounts.createUser(name, { passwordHash: await hashPassword(password), isAdmin: true });
  if (fromEnv) return;
  print(
    [
      '',
      `Berth created the administrator "${name}" with the password:`,
      '',
      `    ${password}`,
      '',
      'It is shown only this once. Next steps:',
      `  berth token create --user ${name} --scopes read:packages,write:packages,delete:packages --data-dir <dir>`,
      `  docker login ${new URL(publicUrl).host} -u ${name}   (paste the token as the password)`,
      '',
    ].join('\n'),
  );
}
