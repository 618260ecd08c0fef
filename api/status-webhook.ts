import { createRoute } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { appendAudit } from '../domain/audit/append.js';
import { tenantWebhookSecret } from '../domain/webhooks/sign.js';
import { tenants } from '../db/schema.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { BODY_PROBLEMS, jsonBody, jsonResponse, noContent, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { StatusWebhookBody, StatusWebhookView } from './feedback-schemas.js';
import { problems } from './problem.js';

const read = createRoute({
  method: 'get',
  path: '/',
  summary: 'The status webhook URL and its signing secret',
  responses: { 200: jsonResponse(StatusWebhookView, 'The webhook'), ...problemResponses(...TENANT_PROBLEMS, 503) },
});
const set = createRoute({
  method: 'put',
  path: '/',
  summary: 'Set the URL each notification outcome (delivered, bounced, complained, failed, suppressed) is POSTed to, signed (Notiflow-Signature)',
  request: { body: jsonBody(StatusWebhookBody) },
  responses: { 200: jsonResponse(StatusWebhookView, 'The webhook and its secret'), ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 503) },
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
  const secretOf = (tenantId: string) => {
    if (!secrets) throw problems.unavailable('Status webhooks need the engine secret key, which this API was not given');
    return tenantWebhookSecret(secrets, tenantId);
  };

  app.openapi(read, async (c) => {
    const [t] = await db.select({ url: tenants.statusWebhookUrl }).from(tenants).where(eq(tenants.id, c.var.tenantId));
    return c.json({ url: t?.url ?? null, secret: t?.url ? secretOf(c.var.tenantId) : null }, 200);
  });

  app.openapi(set, async (c) => {
    const tenantId = c.var.tenantId;
    const body = c.req.valid('json');
    const secret = secretOf(tenantId);
    await db.transaction(async (tx) => {
      await tx.update(tenants).set({ statusWebhookUrl: body.url }).where(eq(tenants.id, tenantId));
      await appendAudit(tx, { tenantId, step: 'webhook.configured', detail: { url: body.url } });
    });
    return c.json({ url: body.url, secret }, 200);
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
