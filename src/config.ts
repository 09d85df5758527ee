import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

/** Durations as in `30s`, `15m`, `24h`, `7d`, or a number of milliseconds. */
const duration = z.unknown().transform((value, context) => {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string' && /^\d+(ms|s|m|h|d)$/.test(value)) return parseDuration(value);
  context.addIssue({ code: 'custom', message: `expected a duration like 30s, 15m, 24h or 7d, got ${JSON.stringify(value)}` });
  return z.NEVER;
});

/**
 * Proxies whose `X-Forwarded-For` is believed: IP addresses and CIDR ranges, as a list or one
 * comma-separated string (flags and environment variables).
 */
const proxyList = z.union([z.string(), z.array(z.string())]).transform((value, context) => {
  const entries = (typeof value === 'string' ? value.split(',') : value).map((entry) => entry.trim()).filter(Boolean);
  const bad = entries.find((entry) => !isAddressOrRange(entry));
  if (bad === undefined) return entries;
  context.addIssue({ code: 'custom', message: `expected IP addresses or CIDR ranges like 10.0.0.1 or 10.0.0.0/8, got ${JSON.stringify(bad)}` });
  return z.NEVER;
});

function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

/** A switch: `on`/`off`, `true`/`false`, or a YAML boolean. */
const onOff = z
  .union([z.boolean(), z.enum(['on', 'off', 'true', 'false'])])
  .transform((value) => value === true || value === 'on' || value === 'true');

const configSchema = z
  .object({
    host: z.string().min(1).default('0.0.0.0'),
    port: z.coerce.number().int().min(0).max(65535).default(5000),
    dataDir: z.string().min(1).default('./data'),
    /** The URL clients use to reach Berth; derived from host and port when not set. */
    publicUrl: z.url().optional(),
    uploadExpiry: duration.default(24 * 60 * 60 * 1000),
    /**
     * Garbage collection of the blobs no manifest needs, every `gcInterval` (and on demand, with
     * `berth gc` or the admin API). A blob younger than `uploadExpiry` is left alone: a manifest
     * may still come for it.
     */
    gc: onOff.default(true),
    gcInterval: duration.default(24 * 60 * 60 * 1000),
    /** The largest blob accepted (ghcr.io takes layers up to 10 GB). */
    maxBlobBytes: z.coerce.number().int().positive().default(10 * 1024 ** 3),
    /** How long a shutdown waits for requests in flight before it closes their connections. */
    shutdownTimeout: duration.default(30_000),
    /** How long a request body may send nothing before the request fails (idle time, not a deadline). */
    bodyTimeout: duration.default(2 * 60 * 1000),
    /**
     * Whether clients must sign in. Off keeps the registry open to anonymous pull and push, as it
     * was before accounts existed (for tests and trusted networks); on is the default.
     */
    auth: onOff.default(true),
    /** Lifetime of registry tokens (ghcr.io's last about 5 minutes). */
    tokenTtl: duration.default(5 * 60 * 1000),
    /** Failed sign-ins allowed per client address within `authFailureWindow`. */
    authFailureLimit: z.coerce.number().int().positive().default(10),
    authFailureWindow: duration.default(15 * 60 * 1000),
    /** Proxies whose X-Forwarded-For names the client (for the sign-in limit and the log); none by default. */
    trustProxy: proxyList.default([]),
    /**
     * Addresses and CIDR ranges webhooks may be delivered to although they are loopback, private,
     * link-local or reserved (refused by default, against server-side request forgery): for
     * receivers on the site's own network. None by default.
     */
    webhookAllowedNetworks: proxyList.default([]),
    /**
     * How long webhook deliveries may wait, in a row, for the node to serve no request: a burst of
     * pushes keeps the CPUs, its deliveries follow it. 0 sends them at once.
     */
    webhookYield: duration.default(1000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** PEM files: the certificate (with any intermediates after it) and its private key. Both serve HTTPS. */
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    /** HTTP/2 next to HTTP/1.1 over TLS (chosen by ALPN); without TLS there is only HTTP/1.1. */
    http2: onOff.default(false),
    /** A `postgres://` URL: metadata in PostgreSQL, shared by every node, instead of SQLite in `dataDir`. */
    database: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
      .optional(),
    /** `s3://bucket/prefix`: blobs in an S3 bucket, shared by every node, instead of files in `dataDir`. */
    storage: z
      .string()
      .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, 'expected s3://bucket or s3://bucket/prefix')
      .optional(),
    /** The S3 endpoint, for a store other than AWS's (otherwise the SDK's, from AWS_ENDPOINT_URL_S3 or the region). */
    s3Endpoint: z.url().optional(),
    /** The bucket's region; otherwise the SDK's (AWS_REGION, the AWS config file). */
    s3Region: z.string().min(1).optional(),
    /** Path-style requests (`endpoint/bucket/key`), as most S3-compatible servers want. */
    s3PathStyle: onOff.default(false),
    /** Pulls of blobs from S3 answered with a redirect to a presigned URL, so the bytes do not pass through Berth. */
    s3Redirect: onOff.default(true),
  })
  .strict()
  .refine((config) => (config.tlsCert === undefined) === (config.tlsKey === undefined), {
    message: 'tlsCert and tlsKey go together: set both to serve HTTPS, or neither',
  });

export type Config = z.infer<typeof configSchema> & { publicUrl: string; dataDir: string };
type ConfigInput = z.input<typeof configSchema>;

/** Environment variables and the settings they map to. */
const environment: Record<string, keyof ConfigInput> = {
  BERTH_HOST: 'host',
  BERTH_PORT: 'port',
  BERTH_DATA_DIR: 'dataDir',
  BERTH_PUBLIC_URL: 'publicUrl',
  BERTH_UPLOAD_EXPIRY: 'uploadExpiry',
  BERTH_GC: 'gc',
  BERTH_GC_INTERVAL: 'gcInterval',
  BERTH_MAX_BLOB_BYTES: 'maxBlobBytes',
  BERTH_SHUTDOWN_TIMEOUT: 'shutdownTimeout',
  BERTH_BODY_TIMEOUT: 'bodyTimeout',
  BERTH_LOG_LEVEL: 'logLevel',
  BERTH_AUTH: 'auth',
  BERTH_TOKEN_TTL: 'tokenTtl',
  BERTH_AUTH_FAILURE_LIMIT: 'authFailureLimit',
  BERTH_AUTH_FAILURE_WINDOW: 'authFailureWindow',
  BERTH_TRUST_PROXY: 'trustProxy',
  BERTH_WEBHOOK_ALLOWED_NETWORKS: 'webhookAllowedNetworks',
  BERTH_WEBHOOK_YIELD: 'webhookYield',
  BERTH_TLS_CERT: 'tlsCert',
  BERTH_TLS_KEY: 'tlsKey',
  BERTH_HTTP2: 'http2',
  BERTH_DATABASE_URL: 'database',
  BERTH_STORAGE: 'storage',
  BERTH_S3_ENDPOINT: 's3Endpoint',
  BERTH_S3_REGION: 's3Region',
  BERTH_S3_PATH_STYLE: 's3PathStyle',
  BERTH_S3_REDIRECT: 's3Redirect',
};

/**
 * Merges the settings: command-line flags over environment variables over the YAML config file
 * over defaults, and checks them once, here.
 */
export function loadConfig(
  flags: Partial<Record<keyof ConfigInput, string>> & { config?: string },
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const fromFile = flags.config ? readConfigFile(flags.config) : {};
  const fromEnv: Record<string, string> = {};
  for (const [variable, key] of Object.entries(environment)) {
    const value = env[variable];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const { config: _file, ...fromFlags } = flags;
  const merged = { ...fromFile, ...fromEnv, ...definedOnly(fromFlags) };
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`);
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  const config = result.data;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const scheme = config.tlsCert ? 'https' : 'http';
  return {
    ...config,
    dataDir: path.resolve(config.dataDir),
    tlsCert: config.tlsCert && path.resolve(config.tlsCert),
    tlsKey: config.tlsKey && path.resolve(config.tlsKey),
    publicUrl: (config.publicUrl ?? `${scheme}://${host.includes(':') ? `[${host}]` : host}:${config.port}`).replace(/\/+$/, ''),
  };
}

function readConfigFile(file: string): Record<string, unknown> {
  // Loaded only for a config file: the parser is 70 modules, and flags and environment need none.
  const { parse: parseYaml } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const parsed: unknown = parseYaml(readFileSync(file, 'utf8'));
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${file}: the config file must be a YAML mapping`);
  return parsed as Record<string, unknown>;
}

function definedOnly(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`invalid duration "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
