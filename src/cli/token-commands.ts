import { Command } from 'commander';
import { parseTokenScopes } from '../auth/scopes.js';
import { parseDuration } from '../config.js';
import { withDataDir, withStores } from './data-dir.js';

type Flags = { dataDir?: string };

/** `berth token create|list|revoke`. */
export function tokenCommand(): Command {
  const token = new Command('token').description('manage personal access tokens');
  withDataDir(token.command('create'))
    .description('create a personal access token and print it (only the token, on stdout)')
    .requiredOption('--user <name>', 'the token’s owner')
    .requiredOption('--scopes <list>', 'read:packages,write:packages,delete:packages (comma-separated)')
    .option('--expires <duration>', 'lifetime, e.g. 30d or 12h (default: no expiry)')
    .option('--note <text>', 'what the token is for')
    .action(async (flags: Flags & { user: string; scopes: string; expires?: string; note?: string }) => {
      const scopes = parseTokenScopes(flags.scopes);
      const expiresAt = flags.expires === undefined ? undefined : new Date(Date.now() + parseDuration(flags.expires));
      const created = await withStores(flags, async ({ accounts, tokens }) => {
        const user = await accounts.requireUser(flags.user);
        return tokens.create(user.id, scopes, { expiresAt, note: flags.note });
      });
      process.stdout.write(`${created.token}\n`);
    });
  withDataDir(token.command('list'))
    .description('list a user’s tokens (never the tokens themselves)')
    .requiredOption('--user <name>', 'the owner')
    .action(async (flags: Flags & { user: string }) => {
      const list = await withStores(flags, async ({ accounts, tokens }) => tokens.list((await accounts.requireUser(flags.user)).id));
      for (const t of list) {
        const state = t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'active';
        process.stdout.write(
          [t.id, `${t.hint}…`, t.scopes.join(','), state, `expires=${t.expiresAt ?? 'never'}`, `last-used=${t.lastUsedAt ?? 'never'}`, t.note ?? ''].join('\t') + '\n',
        );
      }
    });
  withDataDir(token.command('revoke <id>'))
    .description('revoke a token by id (see token list); takes effect at once')
    .requiredOption('--user <name>', 'the owner')
    .action(async (id: string, flags: Flags & { user: string }) => {
      await withStores(flags, async ({ accounts, tokens }) => tokens.revoke((await accounts.requireUser(flags.user)).id, Number(id)));
    });
  return token;
}
