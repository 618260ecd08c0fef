// MX lookups behind one resolver interface (the subset of node:dns/promises' Resolver we use):
// production passes a Resolver on the system's or configured servers, tests one pointed at a
// real DNS server on loopback. Answers are cached for their TTL so a burst to one domain costs
// one lookup; so are empty answers (RFC 2308: for the zone's SOA minimum) and failures (briefly).
import { Resolver } from 'node:dns/promises';

export interface DnsResolver {
  resolveMx(name: string): Promise<{ exchange: string; priority: number }[]>;
  resolve4(name: string): Promise<string[]>;
  resolve4(name: string, options: { ttl: true }): Promise<{ address: string; ttl: number }[]>;
  resolveSoa(name: string): Promise<{ minttl: number }>;
  /** MTA-STS records (mta-sts.ts). */
  resolveTxt(name: string): Promise<string[][]>;
}

export interface MxHost {
  exchange: string;
  priority: number;
  addresses: string[];
}

export interface MxLookup {
  /**
   * Every MX host by preference with its IPv4 addresses; an implicit MX (the domain itself) when
   * it has none (RFC 5321 section 5.1). Throws NullMxError for a domain that takes no mail.
   */
  lookup(domain: string): Promise<MxHost[]>;
}

/** RFC 7505: a single MX "." says the domain accepts no mail; sending to it is a permanent failure. */
export class NullMxError extends Error {
  constructor(readonly domain: string) {
    super(`${domain} publishes a null MX (RFC 7505): it accepts no mail`);
    this.name = 'NullMxError';
  }
}

/** node's Resolver on the given servers ("host:port"), or on the system's when none are given. */
export function createDnsResolver(servers?: string[]): DnsResolver {
  const r = new Resolver({ timeout: 2_000, tries: 2 });
  if (servers?.length) r.setServers(servers);
  return r;
}

const notFound = (err: unknown) => ['ENOTFOUND', 'ENODATA', 'NXDOMAIN'].includes((err as { code?: string }).code ?? '');

export interface MxLookupOptions {
  now?: () => number;
  /** Upper bound of any cached answer (and the MX TTL, which node's resolver does not report). */
  maxTtlMs?: number;
  /** How long a failed lookup (timeout, SERVFAIL) is remembered; RFC 2308 section 7 allows up to 5 minutes. */
  failureTtlMs?: number;
  /** Negative TTL when no SOA can be found. */
  defaultNegativeTtlMs?: number;
}

export function createMxLookup(resolver: DnsResolver, opts: MxLookupOptions = {}): MxLookup {
  const maxTtl = opts.maxTtlMs ?? 5 * 60_000;
  const failureTtl = opts.failureTtlMs ?? 30_000;
  const defaultNegative = opts.defaultNegativeTtlMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { until: number; value: Promise<MxHost[]> }>();

  /** RFC 2308: an empty answer is cached for the SOA minimum of the closest enclosing zone. */
  async function negativeTtl(name: string): Promise<number> {
    const labels = name.split('.');
    for (let i = 0; i < labels.length; i++) {
      try {
        const soa = await resolver.resolveSoa(labels.slice(i).join('.'));
        return Math.min(maxTtl, soa.minttl * 1000);
      } catch (err) {
        if (!notFound(err)) break;
      }
    }
    return defaultNegative;
  }

  /** The addresses of a host and their TTL; none (with the negative TTL) when it has no A record. */
  async function addressesOf(host: string): Promise<{ addresses: string[]; ttl: number }> {
    try {
      const records = await resolver.resolve4(host, { ttl: true });
      return { addresses: records.map((r) => r.address), ttl: Math.min(maxTtl, ...records.map((r) => r.ttl * 1000)) };
    } catch (err) {
      if (!notFound(err)) throw err;
      return { addresses: [], ttl: await negativeTtl(host) };
    }
  }

  async function resolve(domain: string): Promise<{ hosts: MxHost[]; ttl: number }> {
    let records: { exchange: string; priority: number }[];
    let ttl = maxTtl;
    try {
      records = await resolver.resolveMx(domain);
    } catch (err) {
      if (!notFound(err)) throw err;
      records = [];
    }
    if (records.length === 0) {
      // RFC 5321 section 5.1: no MX record -> the domain itself is the mail host.
      ttl = await negativeTtl(domain);
      records = [{ exchange: domain, priority: 0 }];
    } else if (records.length === 1 && (records[0]!.exchange === '' || records[0]!.exchange === '.')) {
      throw new NullMxError(domain);
    }
    records = records.filter((r) => r.exchange !== '' && r.exchange !== '.').sort((a, b) => a.priority - b.priority);
    const hosts = await Promise.all(
      records.map(async (r) => {
        const a = await addressesOf(r.exchange);
        ttl = Math.min(ttl, a.ttl);
        return { exchange: r.exchange.toLowerCase().replace(/\.$/, ''), priority: r.priority, addresses: a.addresses };
      }),
    );
    return { hosts, ttl };
  }

  return {
    lookup(domain) {
      const key = domain.toLowerCase();
      const hit = cache.get(key);
      if (hit && now() < hit.until) return hit.value;
      const started = now();
      const answer = resolve(key);
      const value = answer.then((a) => a.hosts);
      // Until it settles the pending lookup is shared; then it stays for its TTL. A null MX is an
      // answer (kept like one); a failure is kept briefly so a burst does not hammer the resolver.
      cache.set(key, { until: Number.POSITIVE_INFINITY, value });
      answer.then(
        (a) => cache.set(key, { until: started + a.ttl, value }),
        (err: unknown) => cache.set(key, { until: started + (err instanceof NullMxError ? maxTtl : failureTtl), value }),
      );
      return value;
    },
  };
}
