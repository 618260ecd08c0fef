import { createRoute, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { appendAudit } from '../domain/audit/append.js';
import { hasIssuedSecret, issueWebhookSecret } from '../domain/webhooks/tenant-secret.js';
import { tenants } from '../db/schema.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { BODY_PROBLEMS, jsonBody, jsonResponse, noContent, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { StatusWebhookBody, StatusWebhookView } from './feedback-schemas.js';
import { problems } from './problem.js';

const read = createRoute({
  method: 'get',
  path: '/',
  summary: 'The status webhook URL (the signing secret is shown only when issued: null here)',
  responses: { 200: jsonResponse(StatusWebhookView, 'The webhook'), ...problemResponses(...TENANT_PROBLEMS, 503) },
});
const set = createRoute({
  method: 'put',
  path: '/',
  summary:
    'Set the URL each notification outcome (delivered, bounced, complained, failed, suppressed, undeliverable) is POSTed to, signed (Notiflow-Signature)',
  request: { body: jsonBody(StatusWebhookBody) },
  responses: {
    200: jsonResponse(StatusWebhookView, 'The webhook, and its secret the first time one is issued (null afterwards)'),
    ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 503),
  },
});
const rotate = createRoute({
  method: 'post',
  path: '/secret',
  summary: 'Rotate the signing secret: a new random one, shown once in this answer; the old one stops at once',
  responses: { 201: jsonResponse(z.object({ secret: z.string() }), 'The new secret'), ...problemResponses(...TENANT_PROBLEMS, 413, 503) },
});
const remove = createRoute({
  method: 'delete',
  path: '/',
  summary: 'Stop status webhooks',
  responses: { 204: noContent, ...problemResponses(...TENANT_PROBLEMS, 413) },
});

/** The tenant's status webhook: where each notification's outcome is posted, and the secret that signs it. */
export function statusWebhookApi({ db, secrets }: ApiDeps) {
  const app = router<ApiEnv>();
  const box = () => {
    if (!secrets) throw problems.unavailable('Status webhooks need the engine secret key, which this API was not given');
    return secrets;
  };

  // The secret is random per tenant and shown once, when issued (first PUT, or a rotation); never read back.
  app.openapi(read, async (c) => {
    const [t] = await db.select({ url: tenants.statusWebhookUrl }).from(tenants).where(eq(tenants.id, c.var.tenantId));
    return c.json({ url: t?.url ?? null, secret: null }, 200);
  });

  app.openapi(set, async (c) => {
    const tenantId = c.var.tenantId;
    const body = c.req.valid('json');
    const sealer = box();
    const secret = await db.transaction(async (tx) => {
      await tx.update(tenants).set({ statusWebhookUrl: body.url }).where(eq(tenants.id, tenantId));
      await appendAudit(tx, { tenantId, step: 'webhook.configured', detail: { url: body.url } });
      return (await hasIssuedSecret(tx, tenantId)) ? null : issueWebhookSecret(tx, sealer, tenantId);
    });
    return c.json({ url: body.url, secret }, 200);
  });

  app.openapi(rotate, async (c) => {
    const tenantId = c.var.tenantId;
    const sealer = box();
    const secret = await db.transaction(async (tx) => {
      await appendAudit(tx, { tenantId, step: 'webhook.secret_rotated' });
      return issueWebhookSecret(tx, sealer, tenantId);
    });
    return c.json({ secret }, 201);
  });

  app.openapi(remove, async (c) => {
    const tenantId = c.var.tenantId;
    await db.transaction(async (tx) => {
      await tx.update(tenants).set({ statusWebhookUrl: null }).where(eq(tenants.id, tenantId));
      await appendAudit(tx, { tenantId, step: 'webhook.removed' });
    });
    return c.body(null, 204);
  });
  return app;
}
