import type { Env } from './env.js';

/** Where a tenant's sending-domain records point (domain/sending-domains/ builds and checks them). */
export interface DomainSettings {
  /** The engine's inbound host: return-path CNAMEs point here; its MX/A reach the inbound listener and its SPF lists every pool IP. */
  bounceHost: string;
  /** A host whose SPF record lists the engine's IPs, for the From domain's SPF include; absent: the pool's IPs are listed. */
  spfInclude?: string;
  /** How long a replaced DKIM key's record must stay published (mail in flight, receivers' caches). */
  rotationGraceHours: number;
}

/** What the sending-domain records point at, from the environment. */
export function domainSettingsFromEnv(env: Env): DomainSettings {
  return { bounceHost: env.BOUNCE_HOST.toLowerCase(), spfInclude: env.SPF_INCLUDE, rotationGraceHours: env.DKIM_ROTATION_GRACE_HOURS };
}
