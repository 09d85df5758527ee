import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSigningKeys } from '../../src/auth/signing-keys.js';
import { postgresSuite, skipWithoutPostgres } from '../support/postgres-suite.js';

describe('signing keys on PostgreSQL', { skip: await skipWithoutPostgres() }, () => {
  const suite = postgresSuite();

  it('nodes starting at once on an empty database add one key between them, and all sign with it', async (t) => {
    const { nodes } = await suite.twoNodes(t);
    const loaded = await Promise.all([...nodes, ...nodes].map((node) => loadSigningKeys(node.db)));
    assert.equal(new Set(loaded.map((keys) => keys.current.kid)).size, 1);
    const rows = await nodes[0].db.selectFrom('signing_keys').select('kid').execute();
    assert.equal(rows.length, 1);
  });
});
