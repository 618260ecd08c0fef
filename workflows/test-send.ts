import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

// Same retry rules as a notification's e-mail: transient SMTP refusals are retried, permanent ones not.
const send = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10 },
});

/** A template test message, sent through the tenant's pool; the address stays in Postgres (test_sends). */
export async function testSendWorkflow(input: { tenantId: string; testSendId: string }): Promise<{ status: string }> {
  return send.sendTestEmail(input);
}
