import { createRoute, z } from '@hono/zod-openapi';
import { signatureHeader, verifyWebhookSignature } from '../domain/webhooks/sign.js';
import { keepRejected, recordReport } from '../inbound/record.js';
import { lateOutcomeWebhook } from '../inbound/outcome-webhook.js';
import type { ParsedReport } from '../inbound/parse-report.js';
import { jsonResponse, jsonSchemaOf, OPEN, problemResponses, router } from './contract.js';
import type { ApiDeps } from './env.js';
import { ProviderReport, ReportResultView } from './feedback-schemas.js';
import { problems } from './problem.js';
import { parseWith } from './validate.js';

const uuidAt = /^<?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@/i;

/**
 * Complaints and bounces that providers POST as JSON instead of mailing them, HMAC-signed with
 * the shared FEEDBACK_WEBHOOK_SECRET. Recorded exactly like mailed reports; unusable ones are
 * kept for inspection and answered 202 so the provider doesn't resend them.
 */
const postReport = createRoute({
  method: 'post',
  path: '/reports',
  summary: 'Complaints and bounces posted by a mailbox provider as JSON, signed with the shared secret',
  ...OPEN,
  request: {
    headers: z.object({ [signatureHeader]: z.string().optional().describe('t=<unix>,v1=<hex HMAC-SHA256 of "t.body">; a request without a valid one is refused 401') }),
    // The signature covers the raw bytes: the handler checks it first, then parses (so not a validator here).
    body: { required: true, content: { 'application/json': { schema: jsonSchemaOf(ProviderReport) } } },
  },
  responses: { 202: jsonResponse(ReportResultView, 'Recorded, a duplicate, or kept as rejected with the reason'), ...problemResponses(400, 401, 413, 422, 503) },
});

export function providerFeedbackApi(deps: ApiDeps) {
  const app = router();
  app.openapi(postReport, async (c) => {
    const { db, secrets, feedbackWebhookSecret } = deps;
    if (!feedbackWebhookSecret || !secrets) throw problems.unavailable('Provider feedback webhooks are not configured (FEEDBACK_WEBHOOK_SECRET)');
    const raw = await c.req.text();
    if (!verifyWebhookSignature(feedbackWebhookSecret, c.req.header(signatureHeader), raw)) {
      throw problems.unauthorized(`Sign the body with the shared secret: ${signatureHeader}: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`);
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw problems.badRequest('The request body is not valid JSON');
    }
    const body = parseWith(ProviderReport, json, 'body');
    const reject = (reason: string) => keepRejected({ db }, { source: 'provider-webhook', reason, raw });
    const notificationId = body.notificationId ?? uuidAt.exec(body.messageId ?? '')?.[1]?.toLowerCase();
    if (!notificationId) return c.json(await reject('the report names no notification of ours'), 202);
    const report: ParsedReport =
      body.type === 'complaint'
        ? { kind: 'arf', feedbackType: body.feedbackType.toLowerCase(), sourceIp: body.sourceIp, original: { notificationId } }
        : { kind: 'dsn', recipients: [{ action: body.action, status: body.status, diagnostic: body.diagnostic }], original: { notificationId } };
    const onOutcome = lateOutcomeWebhook(deps.temporal, deps.taskQueue);
    const result = await recordReport({ db, secrets, onOutcome }, report, { notificationId }, { source: 'provider-webhook', reject });
    return c.json(result, 202);
  });
  return app;
}
