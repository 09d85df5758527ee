import { Command } from 'commander';
import { serveCommand } from './serve.js';

/** The `berth` command line. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('berth')
    .description('Berth: a self-hosted OCI container registry')
    .showHelpAfterError();
  program.addCommand(serveCommand());
  await program.parseAsync(argv);
}
