import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScopeRequestError, parseResourceScopes } from './scopes.js';

describe('parseResourceScopes', () => {
  it('merges repeated resources and repeated actions, keeping the first order', () => {
    assert.deepEqual(parseResourceScopes(['repository:a/b:pull,pull', 'repository:a/b:push,pull repository:c:pull']), [
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'repository', name: 'c', actions: ['pull'] },
    ]);
  });

  it('keeps a name that contains a colon (a registry host with a port) and drops empty actions', () => {
    assert.deepEqual(parseResourceScopes(['repository:host:5000/app:pull,,push,']), [
      { type: 'repository', name: 'host:5000/app', actions: ['pull', 'push'] },
    ]);
  });

  it('drops malformed scopes: no type, no name, no actions part, blank', () => {
    assert.deepEqual(parseResourceScopes([':a:pull', 'repository::pull', 'repository:pull', 'pull', '  ', '']), []);
  });

  it('a resource with no actions is kept with none (it grants nothing)', () => {
    assert.deepEqual(parseResourceScopes(['repository:a:']), [{ type: 'repository', name: 'a', actions: [] }]);
  });

  it('accepts 50 scopes of 300 characters; refuses a 51st and a 301st character', () => {
    const name = 'n'.repeat(300 - 'repository::pull'.length);
    const longest = `repository:${name}:pull`;
    assert.equal(longest.length, 300);
    assert.equal(parseResourceScopes([longest]).length, 1);
    const fifty = Array.from({ length: 50 }, (_, i) => `repository:r${i}:pull`);
    assert.equal(parseResourceScopes(fifty).length, 50);
    assert.throws(() => parseResourceScopes([...fifty, 'repository:r50:pull']), ScopeRequestError);
    assert.throws(() => parseResourceScopes([`repository:${name}x:pull`]), ScopeRequestError);
    // Spaces separate scopes inside one parameter; they are not counted as scopes themselves.
    assert.equal(parseResourceScopes([fifty.join('  ')]).length, 50);
  });
});
