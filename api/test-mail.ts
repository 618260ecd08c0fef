// The one way the API queues a test message (a template test or a recipient's confirmation):
// the same safeguards as a notification before anything is recorded, then the test-send workflow.
import type { Context } from 'hono';
import { appendAudit } from '../domain/audit/append.js';
import { checkTestAddress, DEFAULT_TEST_SENDS_PER_DAY, forgetTestMail, recordTestMail, type TestMail } from '../domain/test-sends/record.js';
import { testSendWorkflowId } from '../workflows/ids.js';
import { testSendSummary } from '../workflows/summaries.js';
import { testSendWorkflow } from '../workflows/test-send.js';
import type { ApiEnv, AppDeps } from './env.js';
import { ApiProblem, problems } from './problem.js';
import { chargeNotifications } from './rate-limit.js';
import { ensureSendable, NotAccepted } from '../domain/notifications/accept.js';
import { problemOf } from './trigger.js';

/**
 * Refuses, before anything is written, a test message a notification could not be either: no
 * DKIM-verified sending domain (409), a tenant on hold (409), a suppressed address (422).
 */
export async function checkTestMail(deps: AppDeps, tenantId: string, to: string, path: string): Promise<void> {
  try {
    await ensureSendable(deps, tenantId);
  } catch (err) {
    throw err instanceof NotAccepted ? problemOf(err) : err;
  }
  await checkTestAddress(deps.db, tenantId, to, path);
}

/**
 * Charges the tenant's notification bucket (429), records the message under the daily cap (429
 * with Retry-After), audits it and starts its workflow (503 and nothing kept when that fails).
 */
export async function queueTestMail(
  c: Context<ApiEnv>,
  deps: AppDeps,
  mail: TestMail,
  audit: { step: string; detail: Record<string, unknown> },
): Promise<string> {
  const { db, temporal, taskQueue } = deps;
  const tenantId = c.var.tenantId;
  await chargeNotifications(c, db, 1, deps.rateLimits);
  const recorded = await recordTestMail(db, tenantId, mail, deps.testSendsPerDay ?? DEFAULT_TEST_SENDS_PER_DAY);
  if ('capped' in recorded) {
    const retryAfter = Math.ceil(recorded.retryAfterMs / 1000);
    c.header('Retry-After', String(retryAfter));
    throw new ApiProblem(429, {
      type: 'too-many-requests',
      title: 'Too many requests',
      detail: `This tenant may send ${recorded.perDay} test messages per 24 hours; the next fits in ${retryAfter} s. Nothing was sent`,
    });
  }
  const { id } = recorded;
  await appendAudit(db, { tenantId, step: audit.step, detail: { testSendId: id, ...audit.detail, domain: mail.to.split('@').pop() } });
  try {
    await temporal.workflow.start(testSendWorkflow, {
      taskQueue,
      workflowId: testSendWorkflowId(tenantId, id),
      args: [{ tenantId, testSendId: id }],
      staticSummary: testSendSummary(mail),
      staticDetails: `**tenant** ${tenantId}\n**test send** ${id}`,
    });
  } catch {
    await forgetTestMail(db, tenantId, id);
    throw problems.unavailable('The test message could not be queued; retry');
  }
  return id;
}
