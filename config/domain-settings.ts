import type { DomainSettings } from '../domain/sending-domains/service.js';
import type { Env } from './env.js';

/** What the sending-domain records point at, from the environment. */
export function domainSettingsFromEnv(env: Env): DomainSettings {
  return { bounceHost: env.BOUNCE_HOST.toLowerCase(), spfInclude: env.SPF_INCLUDE, rotationGraceHours: env.DKIM_ROTATION_GRACE_HOURS };
}
