import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RegistryTokens, TokenTooLargeError, maxTokenLength } from './registry-tokens.js';
import { newSigningKeys } from './signing-keys.js';

/** A token with a sizeable access claim, as a push of several repositories gets. */
function claimsFor(i: number) {
  return { sub: 'alice', access: Array.from({ length: 10 }, (_, j) => ({ type: 'repository', name: `alice/app-${String(i).padStart(3, '0')}-${j}`, actions: ['pull', 'push'] })) };
}

describe('RegistryTokens: the verified-token memo', () => {
  it('stays within its byte budget however many tokens are verified', async (t) => {
    const budget = 64 * 1024;
    const tokens = new RegistryTokens(await newSigningKeys(), 'issuer', 'service', 300, { cacheBytes: budget });
    for (let i = 0; i < 300; i += 1) {
      assert.ok(await tokens.verify((await tokens.issue(claimsFor(i))).token));
      assert.ok(tokens.cachedBytes <= budget, `${tokens.cachedBytes} bytes cached after ${i + 1} tokens`);
    }
    assert.ok(tokens.cachedBytes > budget / 2, 'the memo is used');
  });

  it('evicts the least recently used token first', async (t) => {
    const keys = await newSigningKeys();
    const budget = 64 * 1024;
    const tokens = new RegistryTokens(keys, 'issuer', 'service', 300, { cacheBytes: budget });
    const issued = await Promise.all(Array.from({ length: 100 }, async (_, i) => (await tokens.issue(claimsFor(i))).token));
    await tokens.verify(issued[0]!);
    const capacity = Math.floor(budget / tokens.cachedBytes);
    assert.ok(capacity >= 4 && capacity <= 90, `${capacity} tokens fit`);

    // Fill the memo, use the first token again, then add two more: the second and third go.
    for (const token of issued.slice(1, capacity)) assert.ok(await tokens.verify(token));
    assert.ok(await tokens.verify(issued[0]!));
    for (const token of issued.slice(capacity, capacity + 2)) assert.ok(await tokens.verify(token));

    // Without the signing key only memoized tokens still verify: which ones were kept shows.
    keys.byKid.clear();
    assert.ok(await tokens.verify(issued[0]!), 'the token used again is kept');
    assert.ok(await tokens.verify(issued[capacity + 1]!), 'the newest token is kept');
    assert.equal(await tokens.verify(issued[1]!), undefined, 'the least recently used token is evicted');
    assert.equal(await tokens.verify(issued[2]!), undefined, 'and the next one');
    assert.ok(await tokens.verify(issued[3]!), 'but no more than needed');
  });
});

describe('RegistryTokens: limits and clocks', () => {
  it('issues and verifies a token of exactly the longest length, and refuses to issue one character more', async (t) => {
    const fixedNow = () => Date.UTC(2026, 0, 1);
    const tokens = new RegistryTokens(await newSigningKeys(), 'issuer', 'service', 300, { now: fixedNow });
    // The token's length follows the subject's: base64url grows by four characters for three
    // bytes, so some lengths are reached by no subject; walk until the limit is met or passed.
    let longest: string | undefined;
    let refused = 0;
    for (let length = 5000; length < 5400 && refused === 0; length += 1) {
      try {
        longest = (await tokens.issue({ sub: 'x'.repeat(length), access: [] })).token;
      } catch (error) {
        assert.ok(error instanceof TokenTooLargeError, String(error));
        refused = length;
      }
    }
    assert.ok(refused > 0, 'some subject makes a token over the limit');
    assert.equal(longest!.length, maxTokenLength, 'the last token issued is exactly at the limit');
    assert.equal((await tokens.verify(longest!))?.sub, 'x'.repeat(refused - 1));
  });

  it('another node whose clock runs behind accepts a token while its clock is at most six seconds behind the issue time', async (t) => {
    const keys = await newSigningKeys();
    const issuedAt = Date.UTC(2026, 0, 1);
    const issuer = new RegistryTokens(keys, 'issuer', 'service', 300, { now: () => issuedAt });
    const { token } = await issuer.issue({ sub: 'alice', access: [] });
    // Backdated one second, plus five seconds of tolerance.
    const behind = (ms: number) => new RegistryTokens(keys, 'issuer', 'service', 300, { now: () => issuedAt - ms });
    assert.equal((await behind(5_500).verify(token))?.sub, 'alice');
    assert.equal(await behind(6_500).verify(token), undefined);
  });
});
