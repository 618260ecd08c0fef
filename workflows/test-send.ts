import { proxyActivities, setCurrentDetails, type ActivityOptions } from '@temporalio/workflow';
import { sentLine } from './summaries.js';
import type { Activities } from '../activities/index.js';

// Same retry rules as a notification's e-mail: transient SMTP refusals are retried, permanent ones not.
const SEND: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10 },
};
const send = proxyActivities<Activities>(SEND);

/** A template test message, sent through the tenant's pool; the address stays in Postgres (test_sends). */
export async function testSendWorkflow(input: { tenantId: string; testSendId: string }): Promise<{ status: string }> {
  setCurrentDetails('sending the test e-mail');
  const sent = await send.sendTestEmail.executeWithOptions({ ...SEND, summary: 'send the test e-mail' }, [input]);
  setCurrentDetails(sentLine({ channel: 'email', outcome: sent.status, sourceIp: sent.sourceIp, provider: sent.provider }));
  return sent;
}
