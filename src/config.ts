import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import path from 'node:path';

/**
 * Reads one setting's raw value: a string from a flag or an environment variable, or any YAML
 * value from the config file. Throws a `SettingError` saying what it expected.
 */
type Setting<T> = (value: unknown) => T;

class SettingError extends Error {}

function expected(what: string, value: unknown): never {
  throw new SettingError(`expected ${what}, got ${JSON.stringify(value)}`);
}

function withDefault<T>(read: Setting<T>, fallback: T): Setting<T> {
  return (value) => (value === undefined ? fallback : read(value));
}

function optional<T>(read: Setting<T>): Setting<T | undefined> {
  return (value) => (value === undefined ? undefined : read(value));
}

const text: Setting<string> = (value) => (typeof value === 'string' && value !== '' ? value : expected('a non-empty string', value));

/** An integer within bounds; from a string too, as flags and environment variables are strings. */
function integer(min: number, max = Number.MAX_SAFE_INTEGER): Setting<number> {
  return (value) => {
    const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof number === 'number' && Number.isSafeInteger(number) && number >= min && number <= max) return number;
    return expected(max === Number.MAX_SAFE_INTEGER ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`, value);
  };
}

const url: Setting<string> = (value) => (typeof value === 'string' && URL.canParse(value) ? value : expected('a URL', value));

function matching(pattern: RegExp, what: string): Setting<string> {
  return (value) => (typeof value === 'string' && pattern.test(value) ? value : expected(what, value));
}

function oneOf<const T extends string>(choices: readonly T[]): Setting<T> {
  return (value) => (choices.includes(value as T) ? (value as T) : expected(`one of ${choices.join(', ')}`, value));
}

/** Durations as in `30s`, `15m`, `24h`, `7d`, or a number of milliseconds. */
const duration: Setting<number> = (value) => {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string' && /^\d+(ms|s|m|h|d)$/.test(value)) return parseDuration(value);
  return expected('a duration like 30s, 15m, 24h or 7d', value);
};

/**
 * Proxies whose `X-Forwarded-For` is believed: IP addresses and CIDR ranges, as a list or one
 * comma-separated string (flags and environment variables).
 */
const proxyList: Setting<string[]> = (value) => {
  const list = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(list) || !list.every((entry) => typeof entry === 'string')) return expected('a list of IP addresses and CIDR ranges', value);
  const entries = list.map((entry: string) => entry.trim()).filter(Boolean);
  const bad = entries.find((entry) => !isAddressOrRange(entry));
  return bad === undefined ? entries : expected('IP addresses or CIDR ranges like 10.0.0.1 or 10.0.0.0/8', bad);
};

function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

/** A switch: `on`/`off`, `true`/`false`, or a YAML boolean. */
const onOff: Setting<boolean> = (value) => {
  if (typeof value === 'boolean') return value;
  if (value === 'on' || value === 'true') return true;
  if (value === 'off' || value === 'false') return false;
  return expected('on, off, true or false', value);
};

/**
 * Every setting and how it is read. Written out rather than declared with a schema library: the
 * settings are read once, and the library would be the largest set of modules a start loads
 * after Kysely (95 modules, 3.5 MB of heap).
 */
const settings = {
  host: withDefault(text, '0.0.0.0'),
  port: withDefault(integer(0, 65535), 5000),
  dataDir: withDefault(text, './data'),
  /** The URL clients use to reach Berth; derived from host and port when not set. */
  publicUrl: optional(url),
  uploadExpiry: withDefault(duration, 24 * 60 * 60 * 1000),
  /**
   * Garbage collection of the blobs no manifest needs, every `gcInterval` (and on demand, with
   * `berth gc` or the admin API). A blob younger than `uploadExpiry` is left alone: a manifest
   * may still come for it.
   */
  gc: withDefault(onOff, true),
  gcInterval: withDefault(duration, 24 * 60 * 60 * 1000),
  /** The largest blob accepted (ghcr.io takes layers up to 10 GB). */
  maxBlobBytes: withDefault(integer(1), 10 * 1024 ** 3),
  /** How long a shutdown waits for requests in flight before it closes their connections. */
  shutdownTimeout: withDefault(duration, 30_000),
  /** How long a request body may send nothing before the request fails (idle time, not a deadline). */
  bodyTimeout: withDefault(duration, 2 * 60 * 1000),
  /**
   * Whether clients must sign in. Off keeps the registry open to anonymous pull and push, as it
   * was before accounts existed (for tests and trusted networks); on is the default.
   */
  auth: withDefault(onOff, true),
  /** Lifetime of registry tokens (ghcr.io's last about 5 minutes). */
  tokenTtl: withDefault(duration, 5 * 60 * 1000),
  /** Failed sign-ins allowed per client address within `authFailureWindow`. */
  authFailureLimit: withDefault(integer(1), 10),
  authFailureWindow: withDefault(duration, 15 * 60 * 1000),
  /** Proxies whose X-Forwarded-For names the client (for the sign-in limit and the log); none by default. */
  trustProxy: withDefault(proxyList, []),
  /**
   * Addresses and CIDR ranges webhooks may be delivered to although they are loopback, private,
   * link-local or reserved (refused by default, against server-side request forgery): for
   * receivers on the site's own network. None by default.
   */
  webhookAllowedNetworks: withDefault(proxyList, []),
  /**
   * How long webhook deliveries may wait, in a row, for the node to serve no request: a burst of
   * pushes keeps the CPUs, its deliveries follow it. 0 sends them at once.
   */
  webhookYield: withDefault(duration, 1000),
  logLevel: withDefault(oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  /** PEM files: the certificate (with any intermediates after it) and its private key. Both serve HTTPS. */
  tlsCert: optional(text),
  tlsKey: optional(text),
  /** HTTP/2 next to HTTP/1.1 over TLS (chosen by ALPN); without TLS there is only HTTP/1.1. */
  http2: withDefault(onOff, false),
  /** A `postgres://` URL: metadata in PostgreSQL, shared by every node, instead of SQLite in `dataDir`. */
  database: optional(matching(/^postgres(ql)?:\/\//, 'a postgres:// URL')),
  /** `s3://bucket/prefix`: blobs in an S3 bucket, shared by every node, instead of files in `dataDir`. */
  storage: optional(matching(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, 's3://bucket or s3://bucket/prefix')),
  /** The S3 endpoint, for a store other than AWS's (otherwise the SDK's, from AWS_ENDPOINT_URL_S3 or the region). */
  s3Endpoint: optional(url),
  /** The bucket's region; otherwise the SDK's (AWS_REGION, the AWS config file). */
  s3Region: optional(text),
  /** Path-style requests (`endpoint/bucket/key`), as most S3-compatible servers want. */
  s3PathStyle: withDefault(onOff, false),
  /** Pulls of blobs from S3 answered with a redirect to a presigned URL, so the bytes do not pass through Berth. */
  s3Redirect: withDefault(onOff, true),
};

type SettingName = keyof typeof settings;
type Settings = { [Name in SettingName]: ReturnType<(typeof settings)[Name]> };

export type Config = Settings & { publicUrl: string; dataDir: string };

/** Environment variables and the settings they map to. */
const environment: Record<string, SettingName> = {
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
  flags: Partial<Record<SettingName, string>> & { config?: string },
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const fromFile = flags.config ? readConfigFile(flags.config) : {};
  const fromEnv: Record<string, string> = {};
  for (const [variable, key] of Object.entries(environment)) {
    const value = env[variable];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const { config: _file, ...fromFlags } = flags;
  const config = readSettings({ ...fromFile, ...fromEnv, ...definedOnly(fromFlags) });
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

/** Every setting read from `merged`, or an error naming each one that is wrong. */
function readSettings(merged: Record<string, unknown>): Settings {
  const problems = Object.keys(merged)
    .filter((name) => !Object.hasOwn(settings, name))
    .map((name) => `config: unknown setting ${JSON.stringify(name)}`);
  const read: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(settings)) {
    try {
      const value = setting(merged[name]);
      if (value !== undefined) read[name] = value;
    } catch (error) {
      if (!(error instanceof SettingError)) throw error;
      problems.push(`${name}: ${error.message}`);
    }
  }
  if ((read['tlsCert'] === undefined) !== (read['tlsKey'] === undefined)) {
    problems.push('config: tlsCert and tlsKey go together: set both to serve HTTPS, or neither');
  }
  if (problems.length > 0) throw new Error(`invalid configuration: ${problems.join('; ')}`);
  return read as Settings;
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
