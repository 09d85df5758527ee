import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, calculateJwkThumbprint } from 'jose';
import { tempDatabase } from '../../test/support/temp-database.js';
import { RegistryTokens } from './registry-tokens.js';
import { legacySigningKeysFile, loadSigningKeys, rotateSigningKey, signingAlgorithm } from './signing-keys.js';

describe('signing keys in the database', () => {
  it('two nodes of one database sign with the same key, each verifies what the other signed', async (t) => {
    const { db } = await tempDatabase(t);
    const [first, second] = await Promise.all([loadSigningKeys(db), loadSigningKeys(db)]);
    assert.equal(first.current.kid, second.current.kid);
    const issuer = new RegistryTokens(first, 'issuer', 'service', 300);
    const verifier = new RegistryTokens(second, 'issuer', 'service', 300);
    const { token } = await issuer.issue({ sub: 'alice', access: [] });
    assert.equal((await verifier.verify(token))?.sub, 'alice');
  });

  it('a key rotated in by one node signs there, and the others verify its tokens and sign with it from then on', async (t) => {
    const { db } = await tempDatabase(t);
    const nodeA = await loadSigningKeys(db);
    const nodeB = await loadSigningKeys(db);
    const before = nodeB.current.kid;
    const rotated = await rotateSigningKey(db);
    assert.notEqual(rotated, before);
    const restartedA = await loadSigningKeys(db);
    assert.equal(restartedA.current.kid, rotated);
    const { token } = await new RegistryTokens(restartedA, 'issuer', 'service', 300).issue({ sub: 'alice', access: [] });
    assert.equal((await new RegistryTokens(nodeB, 'issuer', 'service', 300).verify(token))?.sub, 'alice');
    assert.equal(nodeB.current.kid, rotated);
    assert.ok(nodeB.byKid.has(before), 'the old key still verifies');
    assert.ok(nodeA.byKid.has(before));
  });

  it('a key rotated in signs even where the newest key is dated ahead of this node\'s clock, or in the same millisecond', async (t) => {
    const { db } = await tempDatabase(t);
    const before = (await loadSigningKeys(db)).current.kid;
    // Made by a node whose clock runs a minute ahead.
    await db.updateTable('signing_keys').set({ created_at: new Date(Date.now() + 60_000).toISOString() }).execute();
    const rotated = await rotateSigningKey(db);
    assert.equal((await loadSigningKeys(db)).current.kid, rotated);
    const again = await rotateSigningKey(db);
    assert.equal((await loadSigningKeys(db)).current.kid, again, 'a rotation within the same millisecond as the last');
    assert.equal(new Set([before, rotated, again]).size, 3);
  });

  it('takes over the keys file of an earlier version, its first key still signing, and removes the file', async (t) => {
    const { db } = await tempDatabase(t);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'berth-legacy-keys-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const jwks = await Promise.all(
      [0, 1].map(async () => {
        const jwk = await exportJWK((await generateKeyPair(signingAlgorithm, { extractable: true })).privateKey);
        const { d: _private, ...publicJwk } = jwk;
        return { ...jwk, kid: await calculateJwkThumbprint(publicJwk) };
      }),
    );
    const file = legacySigningKeysFile(dataDir);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify({ keys: jwks }));
    const keys = await loadSigningKeys(db, file);
    assert.equal(keys.current.kid, jwks[0]!.kid);
    assert.deepEqual([...keys.byKid.keys()].sort(), jwks.map((jwk) => jwk.kid).sort());
    await assert.rejects(access(file), { code: 'ENOENT' });
    assert.equal((await loadSigningKeys(db, file)).current.kid, jwks[0]!.kid, 'loaded again from the database');
  });
});
