import { Command } from 'commander';
import { rotateSigningKey } from '../auth/signing-keys.js';
import { withDataDir, withStores } from './data-dir.js';

/** `berth keys`: the keys registry tokens are signed with. */
export function keysCommand(): Command {
  const keys = new Command('keys').description('manage the keys registry tokens are signed with');
  withDataDir(keys.command('rotate'))
    .description('add a new signing key; tokens signed with the older keys stay valid until they expire')
    .action(async (flags: { dataDir?: string; database?: string }) => {
      const kid = await withStores(flags, ({ db }) => rotateSigningKey(db));
      process.stdout.write(`${kid}\n`);
    });
  return keys;
}
