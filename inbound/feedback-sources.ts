// Who may complain. An ARF report suppresses an address and counts against a sending IP, so
// only the feedback loops the operator signed up to are believed: a reporter domain whose DKIM
// signature on the report verifies, or a source address the loop is known to send from.
import { BlockList, isIPv6 } from 'node:net';
import { Resolver } from 'node:dns/promises';
import { dkimVerify } from 'mailauth';

export interface FeedbackLoops {
  /** Reporter domains (d= of a verified DKIM signature; subdomains count). */
  domains: string[];
  /** Source addresses or IPv4/IPv6 CIDR ranges of feedback loops. */
  ips: string[];
}

/** mailauth's resolver shape: (name, rrtype) -> records. */
export type TxtResolver = (name: string, rrtype: string) => Promise<string[][] | string[]>;

/** A mailauth resolver on the given DNS servers ("host:port"), or the system's when none are given. */
export function txtResolver(servers?: string[]): TxtResolver {
  const r = new Resolver({ timeout: 2_000, tries: 2 });
  if (servers?.length) r.setServers(servers);
  return (name, rrtype) => r.resolve(name, rrtype) as Promise<string[][] | string[]>;
}

export function addressList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits !== undefined) list.addSubnet(address, Number(bits), type);
    else list.addAddress(address, type);
  }
  return list;
}

export type SourceVerdict = { trusted: true; source: string } | { trusted: false; reason: string };

export function feedbackSourceCheck(loops: FeedbackLoops, resolver?: TxtResolver) {
  const ips = addressList(loops.ips);
  const domains = loops.domains.map((d) => d.toLowerCase().replace(/\.$/, ''));
  const domainMatches = (d: string) => domains.some((c) => d === c || d.endsWith(`.${c}`));
  return async (raw: string, remoteAddress: string | undefined): Promise<SourceVerdict> => {
    if (remoteAddress && ips.check(remoteAddress, isIPv6(remoteAddress) ? 'ipv6' : 'ipv4')) return { trusted: true, source: `ip:${remoteAddress}` };
    if (domains.length) {
      const result = await dkimVerify(raw, resolver ? { resolver } : {});
      const pass = result.results.find((r) => r.status?.result === 'pass' && r.signingDomain && domainMatches(r.signingDomain.toLowerCase()));
      if (pass) return { trusted: true, source: `dkim:${pass.signingDomain!.toLowerCase()}` };
    }
    return {
      trusted: false,
      reason: 'complaint not from a configured feedback loop (no verified DKIM signature of a reporter domain, nor a known source address)',
    };
  };
}
