import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressGuard } from './address-guard.js';

describe('AddressGuard', () => {
  it('refuses loopback, private, link-local, metadata, shared, multicast and unspecified addresses, IPv4-mapped ones included', () => {
    const guard = new AddressGuard();
    for (const address of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', '::', 'fd00:ec2::254', 'fe80::1', '::ffff:127.0.0.1', '::ffff:a9fe:a9fe', '64:ff9b::7f00:1']) {
      assert.equal(guard.permits(address), false, address);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(guard.permits(address), true, address);
  });

  it('lets the site allow named ranges', () => {
    const guard = new AddressGuard(['10.20.0.0/16', '127.0.0.1', 'fd12::/16']);
    assert.equal(guard.permits('10.20.3.4'), true);
    assert.equal(guard.permits('10.21.3.4'), false);
    assert.equal(guard.permits('127.0.0.1'), true);
    assert.equal(guard.permits('127.0.0.2'), false);
    assert.equal(guard.permits('fd12::1'), true);
  });

  it('refuses a name any of whose addresses is refused, and a name that does not resolve', async () => {
    const names: Record<string, string[]> = { 'rebind.example': ['93.184.216.34', '127.0.0.1'], 'public.example': ['93.184.216.34'], 'nothing.example': [] };
    const guard = new AddressGuard([], async (host) => (names[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
    await assert.rejects(guard.addressesOf(new URL('http://rebind.example/')), /resolves to 127\.0\.0\.1/);
    await assert.rejects(guard.addressesOf(new URL('http://nothing.example/')), /does not resolve/);
    assert.deepEqual(await guard.addressesOf(new URL('https://public.example/hook')), [{ address: '93.184.216.34', family: 4 }]);
    await assert.rejects(guard.addressesOf(new URL('http://[::1]:8080/')), /resolves to ::1/);
  });

  it('takes http and https URLs without credentials only', () => {
    assert.throws(() => AddressGuard.parseUrl('ftp://example.com/'), /http or https/);
    assert.throws(() => AddressGuard.parseUrl('http://user:pass@example.com/'), /credentials/);
    assert.throws(() => AddressGuard.parseUrl(42), /http or https/);
    assert.equal(AddressGuard.parseUrl('https://example.com/hook?x=1').href, 'https://example.com/hook?x=1');
  });
});
