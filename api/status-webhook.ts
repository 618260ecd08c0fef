import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { appendAudit } from '../domain/audit/append.js';
import { tenantWebhookSecret } from '../domain/webhooks/sign.js';
import { tenants } from '../db/schema.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { StatusWebhookBody } from './feedback-schemas.js';
import { problems } from './problem.js';
import { jsonBody } from './validate.js';

/** The tenant's status webhook: where each notification's outcome is posted, and the secret that signs it. */
export function statusWebhookApi({ db, secrets }: ApiDeps) {
  const app = new Hono<ApiEnv>();
  const secretOf = (tenantId: string) => {
    if (!secrets) throw problems.unavailable('Status webhooks need the engine secret key, which this API was not given');
    return tenantWebhookSecret(secrets, tenantId);
  };

  app.get('/', async (c) => {
    const [t] = await db.select({ url: tenants.statusWebhookUrl }).from(tenants).where(eq(tenants.id, c.var.tenantId));
    return c.json({ url: t?.url ?? null, secret: t?.url ? secretOf(c.var.tenantId) : null });
  });

  app.put('/', async (c) => {
    const tenantId = c.var.tenantId;
    const body = await jsonBody(c, StatusWebhookBody);
    const secret = secretOf(tenantId);
    await db.transaction(async (tx) => {
      await tx.update(tenants).set({ statusWebhookUrl: body.url }).where(eq(tenants.id, tenantId));
      await appendAudit(tx, { tenantId, step: 'webhook.configured', detail: { url: body.url } });
    });
    return c.json({ url: body.url, secret });
  });

  app.delete('/', async (c) => {
    const tenantId = c.var.tenantId;
    await db.transaction(async (tx) => {
      await tx.update(tenants).set({ statusWebhookUrl: null }).where(eq(tenants.id, tenantId));
      await appendAudit(tx, { tenantId, step: 'webhook.removed' });
    });
    return c.body(null, 204);
  });
  return app;
}
