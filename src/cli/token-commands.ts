import { Command } from 'commander';
import { parseTokenScopes } from '../auth/scopes.js';
import { InvalidTokenLifetimeError, parseTokenLifetime } from '../auth/token-lifetime.js';
import { parseRepositoryTokenLifetime } from '../auth/repository-tokens.js';
import { withDataDir, withStores } from './data-dir.js';

type Flags = { dataDir?: string };

/** `berth token create|list|revoke`. */
export function tokenCommand(): Command {
  const token = new Command('token').description('manage personal access tokens and repository tokens');
  withDataDir(token.command('create'))
    .description('create a personal access token (--user) or a repository token (--repo) and print it (only the token, on stdout)')
    .option('--user <name>', 'the token’s owner')
    .option('--scopes <list>', 'read:packages,write:packages,delete:packages (comma-separated)')
    .option('--expires <duration>', 'lifetime, e.g. 30d or 12h, at most 365d (default: no expiry)')
    .option('--note <text>', 'what the token is for')
    .option('--repo <OWNER/REPO>', 'a repository token for this source repository (every scope; it ends only when it expires or is revoked)')
    .option('--ttl <duration>', 'lifetime of a repository token (default 1h, at most 24h)')
    .action(async (flags: Flags & { user?: string; scopes?: string; expires?: string; note?: string; repo?: string; ttl?: string }) => {
      if (flags.repo !== undefined) {
        if (flags.user !== undefined || flags.scopes !== undefined) throw new Error('--repo makes a repository token: leave out --user and --scopes');
        let ttl: number;
        try {
          ttl = parseRepositoryTokenLifetime(flags.ttl ?? '1h');
        } catch (error) {
          if (error instanceof InvalidTokenLifetimeError) throw new Error(`--ttl ${error.message}`);
          throw error;
        }
        const created = await withStores(flags, async ({ repositories, repositoryTokens }) =>
          repositoryTokens.create((await repositories.require(flags.repo as string)).id, ttl),
        );
        process.stdout.write(`${created.token}\n`);
        return;
      }
      if (flags.user === undefined || flags.scopes === undefined) throw new Error('a personal access token needs --user and --scopes');
      const user_ = flags.user;
      const scopes = parseTokenScopes(flags.scopes);
      let expiresAt: Date | undefined;
      if (flags.expires !== undefined) {
        try {
          expiresAt = new Date(Date.now() + parseTokenLifetime(flags.expires));
        } catch (error) {
          if (error instanceof InvalidTokenLifetimeError) throw new Error(`--expires ${error.message}`);
          throw error;
        }
      }
      const created = await withStores(flags, async ({ accounts, tokens }) => {
        const user = await accounts.requireUser(user_);
        return tokens.create(user.id, scopes, { expiresAt, note: flags.note });
      });
      process.stdout.write(`${created.token}\n`);
    });
  withDataDir(token.command('list'))
    .description('list a user’s personal access tokens (--user) or a repository’s tokens (--repo), never the tokens themselves')
    .option('--user <name>', 'the owner')
    .option('--repo <OWNER/REPO>', 'the source repository')
    .action(async (flags: Flags & { user?: string; repo?: string }) => {
      const target = oneTarget(flags);
      if (target.repo !== undefined) {
        const repo = target.repo;
        const list = await withStores(flags, async ({ repositories, repositoryTokens }) => repositoryTokens.list((await repositories.require(repo)).id));
        for (const t of list) {
          const state = Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'active';
          process.stdout.write([t.id, `${t.hint}…`, t.scopes?.join(',') ?? 'all', state, `expires=${t.expiresAt}`, `created-by=${t.createdBy ?? '-'}`].join('\t') + '\n');
        }
        return;
      }
      const user = target.user;
      const list = await withStores(flags, async ({ accounts, tokens }) => tokens.list((await accounts.requireUser(user)).id));
      for (const t of list) {
        const state = t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'active';
        process.stdout.write(
          [t.id, `${t.hint}…`, t.scopes.join(','), state, `expires=${t.expiresAt ?? 'never'}`, `last-used=${t.lastUsedAt ?? 'never'}`, t.note ?? ''].join('\t') + '\n',
        );
      }
    });
  withDataDir(token.command('revoke <id>'))
    .description('revoke a token by id (see token list); takes effect at once')
    .option('--user <name>', 'the owner of a personal access token')
    .option('--repo <OWNER/REPO>', 'the source repository of a repository token')
    .action(async (id: string, flags: Flags & { user?: string; repo?: string }) => {
      const target = oneTarget(flags);
      if (target.repo !== undefined) {
        const repo = target.repo;
        await withStores(flags, async ({ repositories, repositoryTokens }) => repositoryTokens.revoke((await repositories.require(repo)).id, Number(id)));
        return;
      }
      const user = target.user;
      await withStores(flags, async ({ accounts, tokens }) => tokens.revoke((await accounts.requireUser(user)).id, Number(id)));
    });
  return token;
}

function oneTarget(flags: { user?: string; repo?: string }): { user: string; repo?: undefined } | { user?: undefined; repo: string } {
  if (flags.repo !== undefined && flags.user === undefined) return { repo: flags.repo };
  if (flags.user !== undefined && flags.repo === undefined) return { user: flags.user };
  throw new Error('name the tokens’ owner with --user, or their repository with --repo (not both)');
}
