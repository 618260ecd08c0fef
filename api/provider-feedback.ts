import { createRoute, z } from '@hono/zod-openapi';
import { signatureHeader, verifyWebhookSignature } from '../domain/webhooks/sign.js';
import { firstSeen } from '../domain/feedback/webhook-nonces.js';
import { keepRejected, recordReport } from '../domain/feedback/record-report.js';
import { lateOutcomeWebhook } from '../workflows/late-outcome.js';
import type { ParsedReport } from '../domain/feedback/report.js';
import { jsonResponse, jsonSchemaOf, OPEN, problemResponses, router } from './contract.js';
import type { ApiDeps } from './env.js';
import { ProviderReport, ReportResultView } from './feedback-schemas.js';
import { problems } from './problem.js';
import { parseWith } from './validate.js';

export const providerHeader = 'Notiflow-Provider';
const replayWindowSeconds = 300;
const uuidAt = /^<?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@/i;

/**
 * Complaints and bounces that providers POST as JSON instead of mailing them, HMAC-signed with
 * each provider's own secret (FEEDBACK_WEBHOOK_SECRETS); a signed request is accepted once. Recorded exactly like mailed reports; unusable ones are
 * kept for inspection and answered 202 so the provider doesn't resend them.
 */
const postReport = createRoute({
  method: 'post',
  path: '/reports',
  summary: "Complaints and bounces posted by a mailbox provider as JSON, signed with the provider's own secret; each signed request is accepted once",
  ...OPEN,
  request: {
    headers: z.object({
      [signatureHeader]: z.string().optional().describe('t=<unix>,v1=<hex HMAC-SHA256 of "t.body">; a request without a valid one is refused 401'),
      [providerHeader]: z.string().optional().describe('Which provider signs (its secret from FEEDBACK_WEBHOOK_SECRETS); "default" when absent'),
    }),
    // The signature covers the raw bytes: the handler checks it first, then parses (so not a validator here).
    body: { required: true, content: { 'application/json': { schema: jsonSchemaOf(ProviderReport) } } },
  },
  responses: {
    202: jsonResponse(ReportResultView, 'Recorded, a duplicate, or kept as rejected with the reason'),
    ...problemResponses(400, 401, 404, 409, 413, 422, 503),
  },
});

export function providerFeedbackApi(deps: ApiDeps) {
  const app = router();
  app.openapi(postReport, async (c) => {
    const { db, secrets } = deps;
    const secretsByProvider: Record<string, string> = {
      ...(deps.feedbackWebhookSecret ? { default: deps.feedbackWebhookSecret } : {}),
      ...deps.feedbackWebhookSecrets,
    };
    // Not configured is how this deployment is, not a passing outage: the route is not there (404, no Retry-After).
    if (Object.keys(secretsByProvider).length === 0 || !secrets)
      throw problems.notFound('Provider feedback webhooks are not configured on this server (FEEDBACK_WEBHOOK_SECRETS)');
    // Each provider signs with its own secret, named by the provider header ("default" without it).
    const provider = c.req.header(providerHeader) ?? 'default';
    const secret = Object.hasOwn(secretsByProvider, provider) ? secretsByProvider[provider] : undefined;
    const raw = await c.req.text();
    const signature = c.req.header(signatureHeader);
    if (!secret || !verifyWebhookSignature(secret, signature, raw, replayWindowSeconds)) {
      throw problems.unauthorized(
        `Sign the body with your provider secret: ${signatureHeader}: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">, and name the provider in ${providerHeader}; the timestamp must be within ${replayWindowSeconds} s`,
      );
    }
    if (!(await firstSeen(db, provider, signature!, replayWindowSeconds)))
      throw problems.conflict('This signed request was received already (replay refused); sign each request afresh');
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw problems.badRequest('The request body is not valid JSON');
    }
    const body = parseWith(ProviderReport, json, 'body');
    const reject = (reason: string, tenantId?: string) =>
      keepRejected({ db }, { source: 'provider-webhook', reason, raw, tenantId, recipients: body.recipient ? [body.recipient] : [] });
    const notificationId = body.notificationId ?? uuidAt.exec(body.messageId ?? '')?.[1]?.toLowerCase();
    if (!notificationId) return c.json(await reject('the report names no notification of ours'), 202);
    const report: ParsedReport =
      body.type === 'complaint'
        ? {
            kind: 'arf',
            feedbackType: body.feedbackType.toLowerCase(),
            sourceIp: body.sourceIp,
            ...(body.recipient ? { recipient: body.recipient } : {}),
            original: { notificationId },
          }
        : { kind: 'dsn', recipients: [{ action: body.action, status: body.status, diagnostic: body.diagnostic }], original: { notificationId } };
    const onOutcome = lateOutcomeWebhook(deps.temporal, deps.taskQueue);
    const result = await recordReport({ db, secrets, onOutcome }, report, { notificationId }, { source: 'provider-webhook', reject });
    return c.json(result, 202);
  });
  return app;
}
