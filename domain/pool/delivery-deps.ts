import { publicAddressCheck } from '../webhooks/egress.js';
import { createMtaSts } from './mta-sts.js';
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
    /** Private ranges MX hosts may resolve to (MX_ALLOW_PRIVATE; the dev run and tests: loopback); none: public only. */
    mxAllowPrivate?: string[];
    /** CAs trusted for MTA-STS policy hosts (SMTP_TLS_CA_FILE); absent: Node's roots. */
    tlsCa?: string[];
    /** HTTPS port of MTA-STS policy hosts (443; tests serve on another). */
    mtaStsPort?: number;
    /** Longest wait per category for an IP that may send (max-age.ts). */
    maxAges?: MaxAges;
    now?: () => number;
    random?: () => number;
  } = {},
): DeliveryDeps {
  const resolver = opts.resolver ?? createDnsResolver(opts.dnsServers);
  const mxAddressAllowed = publicAddressCheck(opts.mxAllowPrivate);
  return {
    rules: opts.rules ?? loadProviderRules(opts.rulesPath),
    mx: createMxLookup(resolver, { now: opts.now }),
    mxPort: opts.mxPort ?? 25,
    mxAddressAllowed,
    mtaSts: createMtaSts({ resolver, allows: mxAddressAllowed, ca: opts.tlsCa, port: opts.mtaStsPort, now: opts.now }),
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
