import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, parseDuration } from '../../src/config.js';

async function configFile(t: { after(fn: () => Promise<void>): void }, text: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'berth.yaml');
  await writeFile(file, text);
  return file;
}

describe('configuration', () => {
  it('defaults: 0.0.0.0:5000, ./data, http://localhost:5000, 24h expiry, 10 GiB blobs, 30s shutdown, info', () => {
    const config = loadConfig({}, {});
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.port, 5000);
    assert.equal(config.dataDir, path.resolve('./data'));
    assert.equal(config.publicUrl, 'http://localhost:5000');
    assert.equal(config.uploadExpiry, 24 * 60 * 60 * 1000);
    assert.equal(config.maxBlobBytes, 10 * 1024 ** 3);
    assert.equal(config.shutdownTimeout, 30_000);
    assert.equal(config.logLevel, 'info');
  });

  it('flags override environment variables, which override the YAML file, which overrides defaults', async (t) => {
    const file = await configFile(t, 'port: 6000\nhost: 127.0.0.1\nuploadExpiry: 2h\nlogLevel: warn\nmaxBlobBytes: 1000\n');
    const fromFile = loadConfig({ config: file }, {});
    assert.equal(fromFile.port, 6000);
    assert.equal(fromFile.uploadExpiry, 2 * 60 * 60 * 1000);
    assert.equal(fromFile.logLevel, 'warn');
    assert.equal(fromFile.maxBlobBytes, 1000);
    assert.equal(fromFile.publicUrl, 'http://127.0.0.1:6000');

    const env = { BERTH_PORT: '7000', BERTH_LOG_LEVEL: 'error', BERTH_UPLOAD_EXPIRY: '30m' };
    const fromEnv = loadConfig({ config: file }, env);
    assert.equal(fromEnv.port, 7000);
    assert.equal(fromEnv.logLevel, 'error');
    assert.equal(fromEnv.uploadExpiry, 30 * 60 * 1000);
    assert.equal(fromEnv.maxBlobBytes, 1000);

    const fromFlags = loadConfig({ config: file, port: '8000' }, env);
    assert.equal(fromFlags.port, 8000);
    assert.equal(fromFlags.logLevel, 'error');
    assert.equal(fromFlags.host, '127.0.0.1');
  });

  it('every BERTH_* variable is read; empty ones are ignored', () => {
    const config = loadConfig({}, {
      BERTH_HOST: '::1',
      BERTH_PORT: '',
      BERTH_DATA_DIR: '/srv/berth',
      BERTH_MAX_BLOB_BYTES: '2048',
      BERTH_SHUTDOWN_TIMEOUT: '5s',
      BERTH_LOG_LEVEL: 'debug',
    });
    assert.equal(config.host, '::1');
    assert.equal(config.port, 5000);
    assert.equal(config.dataDir, '/srv/berth');
    assert.equal(config.maxBlobBytes, 2048);
    assert.equal(config.shutdownTimeout, 5000);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.publicUrl, 'http://[::1]:5000');
  });

  it('bodyTimeout: 2m by default, a duration from BERTH_BODY_TIMEOUT or the config file', async (t) => {
    assert.equal(loadConfig({}, {}).bodyTimeout, 2 * 60 * 1000);
    assert.equal(loadConfig({}, { BERTH_BODY_TIMEOUT: '45s' }).bodyTimeout, 45_000);
    assert.equal(loadConfig({ config: await configFile(t, 'bodyTimeout: 10m\n') }, {}).bodyTimeout, 10 * 60 * 1000);
    assert.throws(() => loadConfig({}, { BERTH_BODY_TIMEOUT: 'soon' }), /invalid configuration: bodyTimeout: /);
  });

  it('publicUrl is taken as given, without a trailing slash', () => {
    assert.equal(loadConfig({ publicUrl: 'https://registry.example.org/' }, {}).publicUrl, 'https://registry.example.org');
    assert.equal(loadConfig({}, { BERTH_PUBLIC_URL: 'https://r.example.org:8443' }).publicUrl, 'https://r.example.org:8443');
  });

  const invalid: Array<[string, Parameters<typeof loadConfig>[0], NodeJS.ProcessEnv, RegExp]> = [
    ['a port that is not a number', { port: 'abc' }, {}, /^invalid configuration: port: /],
    ['a port above 65535', {}, { BERTH_PORT: '70000' }, /^invalid configuration: port: /],
    ['a malformed duration', { uploadExpiry: '10x' }, {}, /uploadExpiry: expected a duration like 30s, 15m, 24h or 7d/],
    ['a negative blob limit', { maxBlobBytes: '-1' }, {}, /maxBlobBytes: /],
    ['an unknown log level', {}, { BERTH_LOG_LEVEL: 'loud' }, /logLevel: /],
    ['a publicUrl that is not a URL', { publicUrl: 'not a url' }, {}, /publicUrl: /],
  ];
  for (const [what, flags, env, message] of invalid) {
    it(`rejects ${what} with a message naming the setting`, () => {
      assert.throws(() => loadConfig(flags, env), (error: Error) => {
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('rejects an unknown key in the YAML file, naming it', async (t) => {
    const file = await configFile(t, 'port: 5000\nbogusSetting: 1\n');
    assert.throws(() => loadConfig({ config: file }, {}), /invalid configuration: .*bogusSetting/);
  });

  it('rejects a YAML file that is not a mapping, and accepts an empty one', async (t) => {
    const list = await configFile(t, '- a\n- b\n');
    assert.throws(() => loadConfig({ config: list }, {}), /the config file must be a YAML mapping/);
    const empty = await configFile(t, '');
    assert.equal(loadConfig({ config: empty }, {}).port, 5000);
  });

  it('rejects a config file that does not exist', () => {
    assert.throws(() => loadConfig({ config: '/nonexistent/berth.yaml' }, {}), /ENOENT/);
  });

  it('trustProxy: addresses and CIDR ranges from a flag, BERTH_TRUST_PROXY or a YAML list; none by default', async (t) => {
    assert.deepEqual(loadConfig({}, {}).trustProxy, []);
    assert.deepEqual(loadConfig({ trustProxy: '10.0.0.1, 192.168.0.0/16' }, {}).trustProxy, ['10.0.0.1', '192.168.0.0/16']);
    assert.deepEqual(loadConfig({}, { BERTH_TRUST_PROXY: '::1,fd00::/8' }).trustProxy, ['::1', 'fd00::/8']);
    const file = await configFile(t, 'trustProxy:\n  - 127.0.0.1\n  - 10.1.0.0/16\n');
    assert.deepEqual(loadConfig({ config: file }, {}).trustProxy, ['127.0.0.1', '10.1.0.0/16']);
  });

  for (const entry of ['10.0.0.0/33', '::1/129', '10.0.0.1/', 'proxy.example.com', '10.0.0.0/8x']) {
    it(`rejects trustProxy ${entry}, naming the setting and the entry`, () => {
      assert.throws(() => loadConfig({ trustProxy: `127.0.0.1,${entry}` }, {}), (error: Error) => {
        assert.match(error.message, /^invalid configuration: trustProxy: /);
        assert.ok(error.message.includes(entry), error.message);
        return true;
      });
    });
  }

  it('rejects a malformed duration, naming the setting', () => {
    assert.throws(() => loadConfig({ shutdownTimeout: '5 minutes' }, {}), /invalid configuration: shutdownTimeout: /);
  });

  it('parses durations in ms, s, m, h and d', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('15m'), 900_000);
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('7d'), 604_800_000);
    assert.throws(() => parseDuration('7 days'), /invalid duration "7 days"/);
  });
});
