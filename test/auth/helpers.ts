import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { parseTokenScopes } from '../../src/auth/scopes.js';
import type { Account } from '../../src/accounts/account-service.js';
import type { Berth, BerthOptions } from '../../src/server.js';
import { runBerth } from '../support/berth-cli.js';
import { ExecError, type ExecResult } from '../support/exec.js';
import { sha256 } from '../support/digests.js';
import { profileCliEnv } from '../support/profile-database.js';
import { tempBerth } from '../support/temp-berth.js';
import { imageManifest, pushBlob, putManifest } from '../support/berth-pushes.js';

export const adminPassword = 'correct-horse-battery-staple-42';
export const publicUrl = 'http://registry.test:5000';

export interface AuthApp {
  berth: Berth;
  dataDir: string;
  /** Everything the server logged. */
  logs(): string;
  /** Creates a user (if new) and a token with the given scopes for them. */
  user(name: string, scopes?: string[], options?: { expiresAt?: Date }): Promise<{ name: string; token: string; id: number }>;
}

/** A Berth with auth on, in a temp dir, with its log captured; closed by t.after(). */
export async function authApp(t: TestContext, settings: Record<string, string> = {}, options: Pick<BerthOptions, 'now' | 'database' | 'blobStore'> = {}): Promise<AuthApp> {
  let log = '';
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      log += chunk.toString('utf8');
      done();
    },
  });
  const { blobStore, ...berthOptions } = options;
  const { berth, dataDir } = await tempBerth(t, { publicUrl, ...settings }, {
    ...berthOptions,
    ...(blobStore ? { blobStoreAt: async () => blobStore } : {}),
    logStream,
    auth: true,
    env: { BERTH_ADMIN_USERNAME: 'root', BERTH_ADMIN_PASSWORD: adminPassword },
    print: (text) => {
      log += text;
    },
  });
  return {
    berth,
    dataDir,
    logs: () => log,
    async user(name, scopes = ['read:packages', 'write:packages', 'delete:packages'], options = {}) {
      const existing = await berth.accounts.find(name);
      const account =
        existing ?? (await berth.accounts.createUser(parseAccountName(name), { passwordHash: await hashPassword(`${name}-password`) }));
      const { token } = await berth.accessTokens.create(account.id, parseTokenScopes(scopes), options);
      return { name: account.name, token, id: account.id };
    },
  };
}

type TestUser = Awaited<ReturnType<AuthApp['user']>>;

/** An `authApp` where alice owns the organization acme, bob is a member of it and carol belongs to nothing. */
export async function aliceOwnsAcme(t: TestContext): Promise<{ app: AuthApp; alice: TestUser; bob: TestUser; carol: TestUser; org: Account }> {
  const app = await authApp(t);
  const alice = await app.user('alice');
  const bob = await app.user('bob');
  const carol = await app.user('carol');
  const org = await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
  await app.berth.accounts.setOrgMember('acme', 'bob', 'member');
  return { app, alice, bob, carol, org };
}

/** Runs `berth ARGS` on a data directory (the server may be running on it); fails on a non-zero exit. */
export async function berthCli(dataDir: string, args: readonly string[]): Promise<ExecResult> {
  const result = await tryBerthCli(dataDir, args);
  if (result.code !== 0) throw new ExecError(`berth ${args.join(' ')}`, result);
  return result;
}

/** Runs `berth ARGS` on a data directory and returns the result whatever the exit code. */
export async function tryBerthCli(dataDir: string, args: readonly string[]): Promise<ExecResult> {
  return runBerth(args, { env: { BERTH_DATA_DIR: dataDir, ...(await profileCliEnv(dataDir)) } });
}

/** Mints a repository token for `repo` (`OWNER/REPO`) through the API with a personal access token; it must answer 201. */
export async function mintRepositoryToken(app: AuthApp, repo: string, pat: string): Promise<{ id: number; token: string; scopes: string[] }> {
  const res = await app.berth.app.inject({
    method: 'POST',
    url: `/api/repos/${repo}/tokens`,
    headers: { authorization: `Bearer ${pat}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ expires_in: '1h' }),
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

/** The registry token `GET /token` issues for `scope` to `authorization` (to nobody without); it must answer 200. */
export async function registryToken(app: { berth: Berth }, scope: string, authorization?: string): Promise<string> {
  const res = await app.berth.app.inject({ method: 'GET', url: `/token?scope=${encodeURIComponent(scope)}`, headers: authorization ? { authorization } : {} });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().token as string;
}

export function basic(user: string, secret: string): string {
  return `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
}

export { sha256 };

/** The payload of a JWT, unverified (the tests read what the server granted). */
export function jwtPayload(token: string): Record<string, unknown> & { access: Array<{ type: string; name: string; actions: string[] }> } {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/** Pushes a one-layer image (config + layer + manifest), tagged `latest`, with the given Authorization. */
export async function pushImage(berth: Berth, repo: string, authorization: string, layer = `layer of ${repo}`): Promise<{ layerDigest: string; manifestDigest: string }> {
  const config = await pushBlob(berth, repo, authorization, JSON.stringify({ architecture: 'amd64', os: 'linux' }));
  const pushedLayer = await pushBlob(berth, repo, authorization, layer);
  const manifest = await putManifest(berth, repo, authorization, 'latest', imageManifest(config, pushedLayer));
  return { layerDigest: pushedLayer.digest, manifestDigest: manifest.digest };
}
