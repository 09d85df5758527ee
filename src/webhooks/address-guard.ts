import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { HookUrlError } from './errors.js';

/** An address a hook's host resolved to, checked, to connect to as it is (not resolved again). */
export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Ranges a hook may not reach unless the site allows them (`webhookAllowedNetworks`): loopback,
 * private (RFC 1918, RFC 4193), link-local (where cloud metadata services answer, 169.254.169.254
 * and fd00:ec2::254 among them), unspecified, shared (CGNAT, RFC 6598), benchmarking, multicast and
 * reserved. A receiver on such an address is reachable from Berth but usually not from the
 * internet, which is what a server-side request forgery is after.
 */
const refusedRanges: ReadonlyArray<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
  // NAT64 and 6to4 carry an IPv4 address that may be any of the above.
  ['64:ff9b::', 96, 'ipv6'],
  ['2002::', 16, 'ipv6'],
];

/**
 * Decides which addresses a hook may be delivered to, and resolves a hook's host to addresses it
 * may reach: every address the name has must be allowed, so that a name cannot pass with one
 * public address and deliver to another. The caller connects to the address answered here.
 */
export class AddressGuard {
  private readonly refused = new BlockList();
  private readonly allowed = new BlockList();

  /** `allowedNetworks`: addresses and CIDR ranges the site allows despite the rules (on-premises receivers). */
  constructor(allowedNetworks: readonly string[] = [], private readonly resolve: (host: string) => Promise<CheckedAddress[]> = resolveAll) {
    for (const [network, prefix, type] of refusedRanges) this.refused.addSubnet(network, prefix, type);
    for (const entry of allowedNetworks) {
      const [address = '', prefix] = entry.split('/');
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.allowed.addAddress(address, type);
      else this.allowed.addSubnet(address, Number(prefix), type);
    }
  }

  /** Whether a hook may be delivered to `address`. */
  permits(address: string): boolean {
    const version = isIP(address);
    if (version === 0) return false;
    const mapped = version === 6 ? ipv4Mapped(address) : undefined;
    const [plain, type] = mapped ? [mapped, 'ipv4' as const] : [address, version === 4 ? ('ipv4' as const) : ('ipv6' as const)];
    if (this.allowed.check(plain, type)) return true;
    return !this.refused.check(plain, type);
  }

  /** The URL, parsed, if a hook may have it: http or https, a host, no credentials. */
  static parseUrl(value: unknown): URL {
    if (typeof value !== 'string' || value.length > 2048) throw new HookUrlError('config.url must be an http or https URL');
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new HookUrlError('config.url must be an http or https URL');
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') throw new HookUrlError('config.url must be an http or https URL');
    if (url.username !== '' || url.password !== '') throw new HookUrlError('config.url may not carry credentials: the secret signs each delivery');
    return url;
  }

  /** The addresses of the URL's host, all permitted; throws `HookUrlError` otherwise. */
  async addressesOf(url: URL): Promise<CheckedAddress[]> {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const literal = isIP(host);
    const addresses = literal !== 0 ? [{ address: host, family: literal as 4 | 6 }] : await this.resolve(host).catch(() => []);
    if (addresses.length === 0) throw new HookUrlError(`the host ${host} of the hook's URL does not resolve`);
    const refused = addresses.find((each) => !this.permits(each.address));
    if (refused) {
      throw new HookUrlError(
        `the hook's URL resolves to ${refused.address}, a loopback, private, link-local or reserved address; the site's webhookAllowedNetworks setting can allow it`,
      );
    }
    return addresses;
  }
}

async function resolveAll(host: string): Promise<CheckedAddress[]> {
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((each) => ({ address: each.address, family: each.family === 6 ? 6 : 4 }));
}

/** The IPv4 address in an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, `::ffff:7f00:1`). */
function ipv4Mapped(address: string): string | undefined {
  // The URL parser writes an IPv6 address in its one canonical form.
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!hex) return undefined;
  const high = parseInt(hex[1] as string, 16);
  const low = parseInt(hex[2] as string, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}
