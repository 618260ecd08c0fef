/**
 * Data residency: with DATA_REGION=eu the engine starts only when Postgres and the Temporal
 * endpoint are on hosts the operator listed in RESIDENCY_ALLOWED_HOSTS (exact host names or IPs,
 * or `*.suffix` for a provider's EU region, e.g. `*.eu-west-3.rds.amazonaws.com`). A typo or a
 * default pointing elsewhere stops the process at start, before any data moves.
 */
export interface ResidencySettings {
  DATA_REGION?: string;
  RESIDENCY_ALLOWED_HOSTS: string[];
}

const hostOfUrl = (url: string): string => new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
/** host:port, [v6]:port or a bare host. */
const hostOfAddress = (address: string): string => {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (v6) return v6[1]!.toLowerCase();
  return address.replace(/:\d+$/, '').toLowerCase();
};

function allowed(host: string, list: string[]): boolean {
  return list.some((entry) => {
    const e = entry.toLowerCase();
    return e.startsWith('*.') ? host.endsWith(e.slice(1)) && host.length > e.length - 1 : host === e;
  });
}

/** Throws, naming each endpoint outside the allow-list, when DATA_REGION=eu. */
export function assertResidency(settings: ResidencySettings, endpoints: { databaseUrl?: string; temporalAddress?: string }): void {
  if (!settings.DATA_REGION) return;
  const found: [string, string][] = [];
  if (endpoints.databaseUrl) found.push(['DATABASE_URL', hostOfUrl(endpoints.databaseUrl)]);
  if (endpoints.temporalAddress) found.push(['TEMPORAL_ADDRESS', hostOfAddress(endpoints.temporalAddress)]);
  const outside = found.filter(([, host]) => !allowed(host, settings.RESIDENCY_ALLOWED_HOSTS));
  if (outside.length) {
    const list = settings.RESIDENCY_ALLOWED_HOSTS.join(', ') || '(empty)';
    throw new Error(
      `DATA_REGION=${settings.DATA_REGION}: ${outside.map(([name, host]) => `${name} host '${host}'`).join(' and ')} not in RESIDENCY_ALLOWED_HOSTS (${list}); refusing to start`,
    );
  }
}
