import { createDnsResolver, createMxLookup, type DnsResolver } from './mx-lookup.js';
import type { DeliveryDeps } from './route.js';
import { parseMaxAges, type MaxAges } from './max-age.js';
import { loadProviderRules, type ProviderRules } from './rules.js';

/**
 * Routing dependencies for a worker: the validated provider rules (a bad file throws here, at
 * start, naming line and field), an MX lookup on the given DNS servers, the MX port.
 */
export function createDeliveryDeps(
  opts: {
    rules?: ProviderRules;
    rulesPath?: string;
    /** DNS servers "host:port"; absent: the system's. */
    dnsServers?: string[];
    resolver?: DnsResolver;
    mxPort?: number;
    /** Longest wait per category for an IP that may send (max-age.ts). */
    maxAges?: MaxAges;
    now?: () => number;
    random?: () => number;
  } = {},
): DeliveryDeps {
  return {
    rules: opts.rules ?? loadProviderRules(opts.rulesPath),
    mx: createMxLookup(opts.resolver ?? createDnsResolver(opts.dnsServers), { now: opts.now }),
    mxPort: opts.mxPort ?? 25,
    maxAges: opts.maxAges ?? parseMaxAges(),
    now: opts.now ?? Date.now,
    random: opts.random ?? Math.random,
  };
}

let repoDefaults: DeliveryDeps | undefined;

/** For deps built without routing (older entry points, tests of other parts): the repo's rules, no DNS, relay pools only. */
export function defaultDeliveryDeps(): DeliveryDeps {
  repoDefaults ??= { rules: loadProviderRules(), mx: null, mxPort: 25, maxAges: parseMaxAges(), now: Date.now, random: Math.random };
  return repoDefaults;
}
