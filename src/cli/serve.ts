import { Command } from 'commander';
import { loadConfig } from '../config.js';
import { createBerth } from '../server.js';

type ServeFlags = Partial<
  Record<
    'host' | 'port' | 'dataDir' | 'publicUrl' | 'auth' | 'trustProxy' | 'tlsCert' | 'tlsKey' | 'database' | 'storage' | 's3Endpoint' | 's3Region' | 's3PathStyle' | 's3Redirect' | 'config',
    string
  >
>;

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the registry')
    .option('--host <host>', 'address to listen on (env BERTH_HOST; default 0.0.0.0)')
    .option('--port <port>', 'port to listen on (env BERTH_PORT; default 5000)')
    .option('--data-dir <dir>', 'where blobs and the database live (env BERTH_DATA_DIR; default ./data)')
    .option('--public-url <url>', 'the URL clients use to reach Berth (env BERTH_PUBLIC_URL)')
    .option('--auth <on|off>', 'require sign-in (env BERTH_AUTH; default on); off allows anonymous pull and push')
    .option('--trust-proxy <list>', 'addresses or CIDR ranges of proxies whose X-Forwarded-For is believed, comma-separated (env BERTH_TRUST_PROXY; default none)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate chain (env BERTH_TLS_CERT; reread on SIGHUP)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert (env BERTH_TLS_KEY)')
    .option('--database <url>', 'a postgres:// URL: metadata in PostgreSQL, shared by several nodes (env BERTH_DATABASE_URL; default SQLite in the data dir)')
    .option('--storage <url>', 's3://bucket/prefix: blobs in S3, shared by several nodes (env BERTH_STORAGE; default files in the data dir)')
    .option('--s3-endpoint <url>', 'the S3 endpoint of a store other than AWS (env BERTH_S3_ENDPOINT)')
    .option('--s3-region <region>', "the bucket's region (env BERTH_S3_REGION; default the AWS SDK's)")
    .option('--s3-path-style <on|off>', 'path-style S3 requests, as most S3-compatible servers want (env BERTH_S3_PATH_STYLE; default off)')
    .option('--s3-redirect <on|off>', 'send blob pulls to presigned S3 URLs (env BERTH_S3_REDIRECT; default on)')
    .option('--config <file>', 'a YAML config file (flags and env override it)')
    .action(async (flags: ServeFlags) => {
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
      // SIGHUP would end the process by default; here it means "reread the certificate", as for
      // most servers that renew certificates in place.
      process.on('SIGHUP', () => {
        if (!config.tlsCert) return void berth.app.log.info('SIGHUP: TLS is off, nothing to reload');
        berth.reloadCertificate().then(
          () => berth.app.log.info({ tlsCert: config.tlsCert }, 'TLS certificate reloaded'),
          (error: unknown) => berth.app.log.error({ err: error }, 'TLS certificate reload failed; the previous certificate stays'),
        );
      });
      const address = await berth.app.listen({ host: config.host, port: config.port });
      // The database URL may hold a password: the log says only which engine and store serve.
      const database = config.database ? 'postgresql' : 'sqlite';
      const storage = config.storage ? 's3' : 'filesystem';
      berth.app.log.info({ address, publicUrl: config.publicUrl, dataDir: config.dataDir, database, storage, tls: Boolean(config.tlsCert), http2: Boolean(config.tlsCert) && config.http2 }, 'listening');
    });
}
