import { completionActivities } from './complete.js';
import { digestActivities } from './digest.js';
import type { ActivityDeps } from './deps.js';
import { atEdge } from './failures.js';
import { blocklistActivities } from './monitor/blocklist.js';
import { deliveryMonitorActivities } from './monitor/delivery-rates.js';
import { domainCheckActivities } from './monitor/domain-check.js';
import { partitionActivities } from './monitor/partitions.js';
import { placementActivities } from './monitor/placement.js';
import { retentionActivities } from './monitor/retention.js';
import { prepareActivities } from './prepare.js';
import { sendEmailActivities } from './send-email.js';
import { sendPushActivities } from './send-push.js';
import { operatorWebhookActivities } from './webhooks/operator.js';
import { statusWebhookActivities } from './webhooks/status.js';
import { testSendActivities } from './test-send.js';

export type { ActivityDeps } from './deps.js';

/** Every activity the notification workflow calls, built from explicit dependencies. */
export function createActivities(deps: ActivityDeps) {
  return atEdge({
    ...prepareActivities(deps),
    ...sendEmailActivities(deps),
    ...sendPushActivities(deps),
    ...completionActivities(deps),
    ...digestActivities(deps),
    ...blocklistActivities(deps),
    ...deliveryMonitorActivities(deps),
    ...domainCheckActivities(deps),
    ...partitionActivities(deps),
    ...placementActivities(deps),
    ...retentionActivities(deps),
    ...operatorWebhookActivities(deps),
    ...statusWebhookActivities(deps),
    ...testSendActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
