import { Command } from 'commander';
import { orgCommand, teamCommand, userCommand } from './account-commands.js';
import { auditCommand } from './audit-command.js';
import { gcCommand } from './gc-command.js';
import { hookCommand } from './hook-commands.js';
import { keysCommand } from './key-commands.js';
import { migrateCommand } from './migrate-command.js';
import { packageCommand, repoCommand } from './package-commands.js';
import { quotaCommand, usageCommand } from './quota-commands.js';
import { serveCommand } from './serve.js';
import { tokenCommand } from './token-commands.js';

/** The `berth` command line. */
export async function main(argv: string[]): Promise<void> {
  // Everything Berth writes is private to its user; the data files are also created with explicit
  // modes, and this covers whatever else a command writes.
  process.umask(0o077);
  const program = new Command()
    .name('berth')
    .description('Berth: a self-hosted OCI container registry')
    .showHelpAfterError();
  program.addCommand(serveCommand());
  program.addCommand(userCommand());
  program.addCommand(orgCommand());
  program.addCommand(teamCommand());
  program.addCommand(tokenCommand());
  program.addCommand(packageCommand());
  program.addCommand(repoCommand());
  program.addCommand(quotaCommand());
  program.addCommand(usageCommand());
  program.addCommand(keysCommand());
  program.addCommand(migrateCommand());
  program.addCommand(gcCommand());
  program.addCommand(auditCommand());
  program.addCommand(hookCommand());
  try {
    await program.parseAsync(argv);
  } catch (error) {
    // Domain errors (a taken name, an unknown user) are messages for the operator, not stack traces.
    process.stderr.write(`berth: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
