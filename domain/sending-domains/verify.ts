// Checks each record a tenant should publish through the engine's own resolver (DNS_SERVERS),
// and explains what is wrong in words a person acts on: the usual mistakes are a host with
// the domain appended twice, two SPF records, and a CNAME where a TXT belongs.
import type { DnsRecord } from './records.js';

/** The subset of node:dns/promises' Resolver the check needs. */
export interface TxtResolver {
  resolveTxt(name: string): Promise<string[][]>;
  resolveCname(name: string): Promise<string[]>;
}

export interface RecordCheck {
  purpose: DnsRecord['purpose'];
  type: DnsRecord['type'];
  host: string;
  expected: string;
  status: 'ok' | 'missing' | 'mismatch';
  /** What the resolver answered at that host. */
  observed: string[];
  message: string;
  required: boolean;
}

// EBADNAME: the record's name is too long for DNS (a long domain plus its selector), so it cannot be published.
const absent = (err: unknown) => ['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ESERVFAIL', 'EBADNAME'].includes((err as { code?: string }).code ?? '');

async function txt(resolver: TxtResolver, host: string): Promise<string[]> {
  try {
    return (await resolver.resolveTxt(host)).map((chunks) => chunks.join(''));
  } catch (err) {
    if (absent(err)) return [];
    throw err;
  }
}

async function cname(resolver: TxtResolver, host: string): Promise<string | undefined> {
  try {
    return (await resolver.resolveCname(host))[0]?.toLowerCase().replace(/\.$/, '');
  } catch (err) {
    if (absent(err)) return undefined;
    throw err;
  }
}

const squash = (s: string) => s.replace(/\s+/g, '').replace(/;$/, '').toLowerCase();
const dkimKeyOf = (value: string) => /(?:^|;)\s*p=([^;]*)/i.exec(value)?.[1]?.replace(/\s+/g, '');

/** The host as a DNS panel that appends the zone shows it when the full name was typed in. */
const doubled = (host: string, domain: string) => `${host}.${domain}`;

export async function checkRecord(resolver: TxtResolver, domain: string, r: DnsRecord): Promise<RecordCheck> {
  const base = { purpose: r.purpose, type: r.type, host: r.host, expected: r.value, required: r.required };
  const hint = async (): Promise<string | undefined> => {
    // A panel that appends the domain turns "x.acme.test" into "x.acme.test.acme.test".
    const twice = doubled(r.host, domain);
    if (r.type === 'CNAME' ? await cname(resolver, twice) : (await txt(resolver, twice)).length) {
      return `The record was found at ${twice}: your DNS provider appends the domain to the host, so enter the host as "${r.host.slice(0, -(domain.length + 1)) || '@'}"`;
    }
    return undefined;
  };

  if (r.type === 'CNAME') {
    const target = await cname(resolver, r.host);
    if (!target) {
      const texts = await txt(resolver, r.host);
      if (texts.length)
        return { ...base, status: 'mismatch', observed: texts, message: `${r.host} has a TXT record where a CNAME to ${r.value} belongs` };
      return { ...base, status: 'missing', observed: [], message: (await hint()) ?? `No CNAME at ${r.host}: add ${r.host} CNAME ${r.value}` };
    }
    if (target === r.value.toLowerCase()) return { ...base, status: 'ok', observed: [target], message: `${r.host} points at ${target}` };
    return {
      ...base,
      status: 'mismatch',
      observed: [target],
      message: `${r.host} points at ${target}, not ${r.value}; bounces would not reach the engine and SPF would not align`,
    };
  }

  const observed = await txt(resolver, r.host);
  const alias = await cname(resolver, r.host);
  if (r.purpose === 'spf') {
    const spf = observed.filter((v) => /^v=spf1(\s|$)/i.test(v.trim()));
    if (spf.length === 0)
      return { ...base, status: 'missing', observed, message: (await hint()) ?? `No SPF record at ${r.host}: add TXT "${r.value}"` };
    if (spf.length > 1)
      return {
        ...base,
        status: 'mismatch',
        observed: spf,
        message: `${r.host} has ${spf.length} SPF records; receivers then fail SPF for good (RFC 7208 §4.5). Merge them into one record that includes ${r.value.replace(/^v=spf1 | ~all$/g, '')}`,
      };
    const wanted = r.value.split(/\s+/).filter((m) => /^(include|ip4|ip6):/.test(m));
    const have = new Set(spf[0]!.toLowerCase().split(/\s+/));
    const lacking = wanted.filter((m) => !have.has(m.toLowerCase()));
    if (lacking.length)
      return {
        ...base,
        status: 'mismatch',
        observed: spf,
        message: `The SPF record at ${r.host} lacks ${lacking.join(' ')}; add it before the "all" term`,
      };
    return { ...base, status: 'ok', observed: spf, message: 'One SPF record, covering the engine' };
  }
  if (r.purpose === 'dmarc') {
    const dmarc = observed.filter((v) => /^v=DMARC1/i.test(v.trim()));
    if (dmarc.length === 0)
      return {
        ...base,
        status: 'missing',
        observed,
        message: (await hint()) ?? `No DMARC record at ${r.host}: add TXT "${r.value}" to start with reports only`,
      };
    if (dmarc.length > 1)
      return {
        ...base,
        status: 'mismatch',
        observed: dmarc,
        message: `${r.host} has ${dmarc.length} DMARC records; receivers ignore DMARC then. Keep one`,
      };
    return { ...base, status: 'ok', observed: dmarc, message: `DMARC published (${/p=\w+/i.exec(dmarc[0]!)?.[0] ?? 'no policy'})` };
  }
  // DKIM: the published key must be this key.
  const wantedKey = dkimKeyOf(r.value);
  const keys = observed.filter((v) => /(^|;)\s*p=/i.test(v));
  if (keys.some((v) => dkimKeyOf(v) === wantedKey)) return { ...base, status: 'ok', observed, message: `DKIM key published at ${r.host}` };
  if (observed.length === 0) {
    if (alias)
      return {
        ...base,
        status: 'mismatch',
        observed: [`CNAME ${alias}`],
        message: `${r.host} is a CNAME to ${alias}, which has no TXT record; a DKIM key belongs in a TXT record at ${r.host} itself`,
      };
    return { ...base, status: 'missing', observed, message: (await hint()) ?? `No TXT record at ${r.host}: add the DKIM key` };
  }
  const why = keys.length ? 'holds another key (an older or mistyped one)' : `holds no DKIM key ("${squash(observed[0]!).slice(0, 40)}...")`;
  return { ...base, status: 'mismatch', observed, message: `The TXT record at ${r.host} ${why}; publish exactly the value given` };
}

export async function checkRecords(resolver: TxtResolver, domain: string, records: DnsRecord[]): Promise<RecordCheck[]> {
  return Promise.all(records.map((r) => checkRecord(resolver, domain, r)));
}
