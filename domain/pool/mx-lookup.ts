// MX lookups behind one resolver interface (the subset of node:dns/promises' Resolver we use):
// production passes a Resolver on the system's or configured servers, tests one pointed at a
// real DNS server on loopback. Answers are cached so a burst to one domain costs one lookup.
import { Resolver } from 'node:dns/promises';

export interface DnsResolver {
  resolveMx(name: string): Promise<{ exchange: string; priority: number }[]>;
  resolve4(name: string): Promise<string[]>;
}

export interface MxHost {
  exchange: string;
  priority: number;
  addresses: string[];
}

export interface MxLookup {
  /** MX hosts by preference with their IPv4 addresses; an implicit MX (the domain itself) when it has none. */
  lookup(domain: string): Promise<MxHost[]>;
}

/** node's Resolver on the given servers ("host:port"), or on the system's when none are given. */
export function createDnsResolver(servers?: string[]): DnsResolver {
  const r = new Resolver({ timeout: 2_000, tries: 2 });
  if (servers?.length) r.setServers(servers);
  return r;
}

const notFound = (err: unknown) => ['ENOTFOUND', 'ENODATA', 'NXDOMAIN'].includes((err as { code?: string }).code ?? '');

export function createMxLookup(resolver: DnsResolver, opts: { ttlMs?: number; now?: () => number } = {}): MxLookup {
  const ttl = opts.ttlMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { at: number; value: Promise<MxHost[]> }>();

  async function resolve(domain: string): Promise<MxHost[]> {
    let records: { exchange: string; priority: number }[];
    try {
      records = await resolver.resolveMx(domain);
    } catch (err) {
      if (!notFound(err)) throw err;
      records = [];
    }
    // RFC 5321 §5.1: no MX record -> the domain itself is the mail host; "." is a null MX (no mail).
    if (records.length === 0) records = [{ exchange: domain, priority: 0 }];
    records = records.filter((r) => r.exchange !== '' && r.exchange !== '.').sort((a, b) => a.priority - b.priority);
    return Promise.all(
      records.map(async (r) => ({
        exchange: r.exchange.toLowerCase().replace(/\.$/, ''),
        priority: r.priority,
        addresses: await resolver.resolve4(r.exchange).catch((err: unknown) => {
          if (notFound(err)) return [];
          throw err;
        }),
      })),
    );
  }

  return {
    lookup(domain) {
      const key = domain.toLowerCase();
      const hit = cache.get(key);
      if (hit && now() - hit.at < ttl) return hit.value;
      const value = resolve(key);
      cache.set(key, { at: now(), value });
      // A failed lookup (timeout, SERVFAIL) is not cached: the next send asks again.
      value.catch(() => cache.delete(key));
      return value;
    },
  };
}
