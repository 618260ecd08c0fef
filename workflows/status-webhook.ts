import { proxyActivities, setCurrentDetails, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { StatusWebhookOutcome } from '../domain/notifications/status.js';

// Tenant endpoints go down: retry with backoff (up to an hour apart) for a day, then give up.
const HOOK_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '24 hours',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
};
const hooks = proxyActivities<Activities>(HOOK_OPTIONS);

/** One notification outcome posted to the tenant's webhook; its own workflow so a slow endpoint blocks nothing. */
export async function statusWebhookWorkflow(input: {
  tenantId: string;
  notificationId: string;
  outcome: StatusWebhookOutcome;
}): Promise<{ posted: boolean }> {
  setCurrentDetails("posting to the tenant's status webhook");
  const posted = await hooks.postStatusWebhook.executeWithOptions({ ...HOOK_OPTIONS, summary: `post ${input.outcome} to the status webhook` }, [
    { ...input, at: workflowInfo().startTime.toISOString() },
  ]);
  setCurrentDetails(posted.posted ? 'posted' : 'not posted (no webhook configured)');
  return posted;
}
