import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OrgRole, PackageRole } from '../db/schema.js';
import { type PackageFacts, type UserContext, actionsOfRole, isPackageRole, isVisibility, maxRole, roleAtLeast, roleFor } from './roles.js';

const userId = 10;
const otherUserId = 20;
const orgId = 30;
const packageId = 40;
const sourceRepositoryId = 50;

function pkg(facts: Partial<PackageFacts> = {}): PackageFacts {
  return { id: packageId, ownerId: otherUserId, ownerKind: 'user', visibility: 'private', inheritAccess: false, sourceRepositoryId: null, ...facts };
}

function user(holds: { org?: OrgRole; grant?: PackageRole; teamGrant?: PackageRole; repository?: PackageRole } = {}): UserContext {
  return {
    userId,
    orgRoles: new Map(holds.org ? [[orgId, holds.org]] : []),
    userGrants: new Map(holds.grant ? [[packageId, holds.grant]] : []),
    teamGrants: new Map(holds.teamGrant ? [[packageId, holds.teamGrant]] : []),
    repositoryRoles: new Map(holds.repository ? [[sourceRepositoryId, holds.repository]] : []),
  };
}

const orgPackage = (facts: Partial<PackageFacts> = {}) => pkg({ ownerKind: 'org', ownerId: orgId, ...facts });

describe('roleFor', () => {
  it('gives anonymous callers read on public packages and nothing else', () => {
    assert.equal(roleFor(undefined, pkg({ visibility: 'public' })), 'read');
    assert.equal(roleFor(undefined, pkg({ visibility: 'private' })), undefined);
    assert.equal(roleFor(undefined, orgPackage({ visibility: 'internal' })), undefined);
  });

  it('makes the owning user and the owning organization\'s owners admins', () => {
    assert.equal(roleFor(user(), pkg({ ownerId: userId })), 'admin');
    assert.equal(roleFor(user({ org: 'owner' }), orgPackage()), 'admin');
  });

  it('does not make a user the owner of an organization\'s package whose id equals the user\'s', () => {
    assert.equal(roleFor(user(), orgPackage({ ownerId: userId })), undefined);
  });

  it('gives a stranger nothing on a private package and read on a public one', () => {
    assert.equal(roleFor(user(), pkg()), undefined);
    assert.equal(roleFor(user(), pkg({ visibility: 'public' })), 'read');
    assert.equal(roleFor(user(), orgPackage({ visibility: 'internal' })), undefined);
  });

  it('gives members read on internal organization packages and nothing on private ones', () => {
    assert.equal(roleFor(user({ org: 'member' }), orgPackage({ visibility: 'internal' })), 'read');
    assert.equal(roleFor(user({ org: 'member' }), orgPackage({ visibility: 'private' })), undefined);
  });

  it('counts user and team grants, the higher one winning', () => {
    assert.equal(roleFor(user({ grant: 'write' }), pkg()), 'write');
    assert.equal(roleFor(user({ teamGrant: 'admin' }), pkg()), 'admin');
    assert.equal(roleFor(user({ grant: 'admin', teamGrant: 'read' }), pkg()), 'admin');
    assert.equal(roleFor(user({ grant: 'read', teamGrant: 'write' }), pkg()), 'write');
    assert.equal(roleFor(user({ grant: 'write' }), pkg({ visibility: 'public' })), 'write');
  });

  it('counts grants on private and internal organization packages only for members', () => {
    assert.equal(roleFor(user({ grant: 'write' }), orgPackage()), undefined);
    assert.equal(roleFor(user({ grant: 'write' }), orgPackage({ visibility: 'internal' })), undefined);
    assert.equal(roleFor(user({ org: 'member', grant: 'write' }), orgPackage()), 'write');
    assert.equal(roleFor(user({ org: 'member', grant: 'admin' }), orgPackage({ visibility: 'internal' })), 'admin');
    assert.equal(roleFor(user({ grant: 'write' }), orgPackage({ visibility: 'public' })), 'write');
  });

  it('counts the source repository\'s role only when the package inherits access from it', () => {
    const linked = { sourceRepositoryId };
    assert.equal(roleFor(user({ repository: 'write' }), pkg(linked)), undefined);
    assert.equal(roleFor(user({ repository: 'write' }), pkg({ ...linked, inheritAccess: true })), 'write');
    assert.equal(roleFor(user({ repository: 'admin' }), orgPackage({ ...linked, inheritAccess: true })), 'admin');
    assert.equal(roleFor(user({ repository: 'write' }), pkg({ inheritAccess: true, sourceRepositoryId: null })), undefined);
    assert.equal(roleFor(user({ repository: 'read', grant: 'write' }), pkg({ ...linked, inheritAccess: true })), 'write');
  });
});

describe('role helpers', () => {
  it('orders roles read < write < admin', () => {
    assert.equal(maxRole(), undefined);
    assert.equal(maxRole(undefined, undefined), undefined);
    assert.equal(maxRole('read', undefined), 'read');
    assert.equal(maxRole(undefined, 'write'), 'write');
    assert.equal(maxRole('admin', 'read', 'write'), 'admin');
    assert.equal(maxRole('read', 'write'), 'write');
    assert.equal(maxRole('write', 'read'), 'write');
  });

  it('compares a role with the one needed', () => {
    assert.equal(roleAtLeast(undefined, 'read'), false);
    assert.equal(roleAtLeast('read', 'read'), true);
    assert.equal(roleAtLeast('read', 'write'), false);
    assert.equal(roleAtLeast('write', 'write'), true);
    assert.equal(roleAtLeast('write', 'admin'), false);
    assert.equal(roleAtLeast('admin', 'write'), true);
  });

  it('maps roles to registry actions', () => {
    assert.deepEqual([...actionsOfRole(undefined)], []);
    assert.deepEqual([...actionsOfRole('read')], ['pull']);
    assert.deepEqual([...actionsOfRole('write')].sort(), ['pull', 'push']);
    assert.deepEqual([...actionsOfRole('admin')].sort(), ['delete', 'pull', 'push']);
  });

  it('recognises roles and visibilities, and nothing else', () => {
    for (const role of ['read', 'write', 'admin']) assert.equal(isPackageRole(role), true);
    for (const value of ['', 'owner', 'Read', 3, undefined, null, ['read']]) assert.equal(isPackageRole(value), false, String(value));
    for (const visibility of ['private', 'internal', 'public']) assert.equal(isVisibility(visibility), true);
    for (const value of ['', 'secret', 'Public', 1, undefined]) assert.equal(isVisibility(value), false, String(value));
  });
});
