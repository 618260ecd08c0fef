import { Resolver } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';

// DNSBL lookups through the engine's own resolver (never a public open resolver: Spamhaus answers
// those with 127.255.255.254, and rate-limited ones with .255, which mean "refused", not "listed").

export type DnsblAnswer = { zone: string; listed: true; codes: string[] } | { zone: string; listed: false } | { zone: string; error: string };

export function createDnsblResolver(servers: string[], timeoutMs: number): Resolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length) resolver.setServers(servers);
  return resolver;
}

/** The DNSBL query name: reversed octets (IPv4) or nibbles (IPv6), then the zone. */
export function dnsblName(ip: string, zone: string): string {
  if (isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.${zone}`;
  if (isIPv6(ip)) {
    const groups = ip.split('::');
    const head = groups[0] ? groups[0].split(':') : [];
    const tail = groups[1] ? groups[1].split(':') : [];
    const full = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail].map((g: string) => g.padStart(4, '0')).join('');
    return `${full.split('').reverse().join('.')}.${zone}`;
  }
  throw new Error(`not an IP address: ${ip}`);
}

export async function queryDnsbl(resolver: Resolver, ip: string, zone: string): Promise<DnsblAnswer> {
  let codes: string[];
  try {
    codes = await resolver.resolve4(dnsblName(ip, zone));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return { zone, listed: false };
    return { zone, error: `lookup failed: ${code ?? (err as Error).message}` };
  }
  if (codes.some((c) => c.startsWith('127.255.255.'))) return { zone, error: `query refused by the list (${codes.join(', ')})` };
  const listing = codes.filter((c) => c.startsWith('127.'));
  if (listing.length === 0) return { zone, error: `unexpected answer ${codes.join(', ')} (not a DNSBL code)` };
  return { zone, listed: true, codes: listing };
}
