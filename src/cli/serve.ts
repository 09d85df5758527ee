import { Command } from 'commander';
import { loadConfig } from '../config.js';
import { createBerth } from '../server.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the registry')
    .option('--host <host>', 'address to listen on (env BERTH_HOST; default 0.0.0.0)')
    .option('--port <port>', 'port to listen on (env BERTH_PORT; default 5000)')
    .option('--data-dir <dir>', 'where blobs and the database live (env BERTH_DATA_DIR; default ./data)')
    .option('--public-url <url>', 'the URL clients use to reach Berth (env BERTH_PUBLIC_URL)')
    .option('--auth <on|off>', 'require sign-in (env BERTH_AUTH; default on); off allows anonymous pull and push')
    .option('--trust-proxy <list>', 'addresses or CIDR ranges of proxies whose X-Forwarded-For is believed, comma-separated (env BERTH_TRUST_PROXY; default none)')
    .option('--config <file>', 'a YAML config file (flags and env override it)')
    .action(async (flags: { host?: string; port?: string; dataDir?: string; publicUrl?: string; auth?: string; trustProxy?: string; config?: string }) => {
      const config = loadConfig(flags);
      const berth = await createBerth(config);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        berth.app.log.info({ signal }, 'shutting down');
        berth.close().then(
          () => process.exit(0),
          (error: unknown) => {
            berth.app.log.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      const address = await berth.app.listen({ host: config.host, port: config.port });
      berth.app.log.info({ address, publicUrl: config.publicUrl, dataDir: config.dataDir }, 'listening');
    });
}
