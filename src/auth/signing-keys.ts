import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type CryptoKey, type JWK, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';

export const signingAlgorithm = 'ES256';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/** The key set registry tokens are signed with: the first key signs, all verify (rotation). */
export interface SigningKeys {
  current: SigningKey;
  byKid: Map<string, SigningKey>;
}

interface StoredKeys {
  keys: JWK[];
}

/**
 * Loads the registry token signing keys from `<dataDir>/keys/registry-tokens.json`, generating an
 * ES256 key (kid = its JWK thumbprint) on first start. To rotate, put a new key first in `keys` and
 * keep the old one after it until tokens signed with it have expired.
 */
export async function loadSigningKeys(dataDir: string): Promise<SigningKeys> {
  const file = path.join(dataDir, 'keys', 'registry-tokens.json');
  let stored: StoredKeys;
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as StoredKeys;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    stored = { keys: [await newKey()] };
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(stored, null, 2), { mode: 0o600 });
    await rename(temp, file);
  }
  const keys: SigningKey[] = [];
  for (const jwk of stored.keys) {
    const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk));
    const { d: _private, ...publicJwk } = jwk;
    const privateKey = (await importJWK(jwk, signingAlgorithm)) as CryptoKey;
    const publicKey = (await importJWK(publicJwk, signingAlgorithm)) as CryptoKey;
    keys.push({ kid, privateKey, publicKey });
  }
  const current = keys[0];
  if (!current) throw new Error(`${file} holds no keys`);
  return { current, byKid: new Map(keys.map((key) => [key.kid, key])) };
}

async function newKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(signingAlgorithm, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const { d: _private, ...publicJwk } = jwk;
  return { ...jwk, alg: signingAlgorithm, use: 'sig', kid: await calculateJwkThumbprint(publicJwk) };
}
