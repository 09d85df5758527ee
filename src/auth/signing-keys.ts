import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { CryptoKey, JWK } from 'jose';
import { sql, type Transaction } from 'kysely';
import { dialectOf } from '../db/dialect.js';
import type { Database, Schema } from '../db/schema.js';
import { loadJose } from './lazy-jose.js';

export const signingAlgorithm = 'ES256';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/** How often a token signed by a key this node does not know may make it read the keys again. */
const reloadIntervalMs = 1000;

/**
 * The key set registry tokens are signed with: the first key signs, all verify, so a new key can
 * be added while tokens signed with the old one are still in use (rotation). Another node may add
 * a key at any time; a token under a key id not known here makes this node read the keys again.
 */
export class SigningKeys {
  readonly byKid: Map<string, SigningKey>;
  current: SigningKey;
  private lastReload = 0;

  constructor(
    keys: readonly SigningKey[],
    private readonly reload?: () => Promise<readonly SigningKey[]>,
  ) {
    const [current] = keys;
    if (!current) throw new Error('no registry token signing key');
    this.current = current;
    this.byKid = new Map(keys.map((key) => [key.kid, key]));
  }

  /** The key of `kid`, reading the keys again when it is new here (at most once a second). */
  async find(kid: string): Promise<SigningKey | undefined> {
    const known = this.byKid.get(kid);
    if (known || !this.reload || Date.now() - this.lastReload < reloadIntervalMs) return known;
    this.lastReload = Date.now();
    const keys = await this.reload();
    for (const key of keys) this.byKid.set(key.kid, key);
    // A newer key than the one signing here: sign with it too, as the nodes that started since do.
    if (keys[0]) this.current = keys[0];
    return this.byKid.get(kid);
  }
}

/** Where an earlier version kept the keys, in the data directory. */
export function legacySigningKeysFile(dataDir: string): string {
  return path.join(dataDir, 'keys', 'registry-tokens.json');
}

/** One new key, kept only in memory (tests, and tools that need no other node to verify). */
export async function newSigningKeys(): Promise<SigningKeys> {
  return new SigningKeys([await toSigningKey(await newKey())]);
}

/**
 * Loads the signing keys from the database, the newest first. On the first start an ES256 key is
 * made (kid = its JWK thumbprint), or the keys of the file an earlier version kept in the data
 * directory are taken over (and the file removed). Two nodes starting at once on an empty
 * database agree on which key signs: the first to hold the table adds its keys, the other finds them.
 */
export async function loadSigningKeys(db: Database, legacyFile?: string): Promise<SigningKeys> {
  if ((await storedKeys(db)).length === 0) {
    const fromFile = legacyFile ? await readLegacyFile(legacyFile) : undefined;
    // The file's first key signed; it keeps signing as the newest.
    const jwks = fromFile ? [...fromFile].reverse() : [await newKey()];
    const base = Date.now();
    await db.transaction().execute(async (trx) => {
      await holdKeys(trx);
      if ((await trx.selectFrom('signing_keys').select('kid').limit(1).execute()).length > 0) return;
      await insertKeys(
        trx,
        jwks.map((jwk, index) => ({ jwk, createdAt: new Date(base + index) })),
      );
    });
    if (legacyFile && fromFile) await rm(legacyFile, { force: true });
  }
  return new SigningKeys(await storedKeys(db), () => storedKeys(db));
}

/**
 * Adds a new key that signs from now on (on other nodes, from their next start); answers its kid.
 * The newest key signs, so the new one is dated after every key there is, even one made in the
 * same millisecond or by a node whose clock runs ahead.
 */
export async function rotateSigningKey(db: Database): Promise<string> {
  const jwk = await newKey();
  await db.transaction().execute(async (trx) => {
    await holdKeys(trx);
    const [newest] = await trx.selectFrom('signing_keys').select('created_at').orderBy('created_at', 'desc').limit(1).execute();
    const after = newest ? Date.parse(newest.created_at) + 1 : 0;
    await insertKeys(trx, [{ jwk, createdAt: new Date(Math.max(Date.now(), after)) }]);
  });
  return jwk.kid as string;
}

/** Keeps other nodes from adding keys until the transaction ends. */
async function holdKeys(trx: Transaction<Schema>): Promise<void> {
  // SQLite has one writer, and this process one connection; PostgreSQL needs the table held.
  if (dialectOf(trx).name === 'postgres') await sql`lock table signing_keys in share row exclusive mode`.execute(trx);
}

async function storedKeys(db: Database): Promise<SigningKey[]> {
  const rows = await db.selectFrom('signing_keys').select(['kid', 'jwk']).orderBy('created_at', 'desc').orderBy('kid', 'desc').execute();
  return Promise.all(rows.map(async (row) => ({ ...(await toSigningKey(JSON.parse(row.jwk) as JWK)), kid: row.kid })));
}

async function insertKeys(db: Database, keys: ReadonlyArray<{ jwk: JWK; createdAt: Date }>): Promise<void> {
  for (const { jwk, createdAt } of keys) {
    const kid = jwk.kid ?? (await (await loadJose()).calculateJwkThumbprint(jwk));
    await db
      .insertInto('signing_keys')
      .values({ kid, jwk: JSON.stringify(jwk), created_at: createdAt.toISOString() })
      .onConflict((conflict) => conflict.column('kid').doNothing())
      .execute();
  }
}

async function readLegacyFile(file: string): Promise<JWK[] | undefined> {
  try {
    const { keys } = JSON.parse(await readFile(file, 'utf8')) as { keys?: JWK[] };
    return keys && keys.length > 0 ? keys : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function toSigningKey(jwk: JWK): Promise<SigningKey> {
  const kid = jwk.kid ?? (await (await loadJose()).calculateJwkThumbprint(jwk));
  const { d: _private, ...publicJwk } = jwk;
  // Web Crypto's own import, as jose's importJWK makes it for ES256: a start reads the stored keys
  // without loading jose.
  const privateKey = await crypto.subtle.importKey('jwk', jwk as JsonWebKey, es256, false, ['sign']);
  const publicKey = await crypto.subtle.importKey('jwk', publicJwk as JsonWebKey, es256, true, ['verify']);
  return { kid, privateKey, publicKey };
}

/** ES256's key parameters in Web Crypto (RFC 7518, section 3.4). */
const es256 = { name: 'ECDSA', namedCurve: 'P-256' };

async function newKey(): Promise<JWK> {
  const { calculateJwkThumbprint, exportJWK, generateKeyPair } = await loadJose();
  const { privateKey } = await generateKeyPair(signingAlgorithm, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const { d: _private, ...publicJwk } = jwk;
  return { ...jwk, alg: signingAlgorithm, use: 'sig', kid: await calculateJwkThumbprint(publicJwk) };
}
