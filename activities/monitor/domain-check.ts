import { domainChecks } from '../../domain/monitor/domain-check.js';
import type { ActivityDeps } from '../deps.js';

/** Re-checks sending domains' DNS and tells operator and tenant about regressions (domain/monitor/domain-check.ts). */
export function domainCheckActivities(deps: ActivityDeps) {
  const checks = domainChecks(deps);
  return {
    checkSendingDomains: checks.checkSendingDomains,
    postDomainEvent: checks.postDomainEvent,
  };
}
