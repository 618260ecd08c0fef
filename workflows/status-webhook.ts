import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { StatusWebhookOutcome } from '../domain/notifications/status.js';

// Tenant endpoints go down: retry with backoff (up to an hour apart) for a day, then give up.
const hooks = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '24 hours',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
});

/** One notification outcome posted to the tenant's webhook; its own workflow so a slow endpoint blocks nothing. */
export async function statusWebhookWorkflow(input: {
  tenantId: string;
  notificationId: string;
  outcome: StatusWebhookOutcome;
}): Promise<{ posted: boolean }> {
  return hooks.postStatusWebhook({ ...input, at: workflowInfo().startTime.toISOString() });
}
