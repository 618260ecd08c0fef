import { and, asc, eq, gt } from 'drizzle-orm';
import { Hono } from 'hono';
import type { z } from 'zod';
import { appendAudit } from '../domain/audit/append.js';
import { normaliseAddress, suppress } from '../domain/feedback/suppression.js';
import { suppressions } from '../db/schema.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { SuppressionBody, SuppressionListQuery, type SuppressionView } from './feedback-schemas.js';
import { problems } from './problem.js';
import { jsonBody, parseWith } from './validate.js';

const view = (r: typeof suppressions.$inferSelect): z.infer<typeof SuppressionView> => ({
  email: r.email,
  reason: r.reason,
  source: r.source,
  notificationId: r.notificationId,
  detail: r.detail,
  createdAt: r.createdAt.toISOString(),
});

/** The tenant's suppression list: addresses that get no e-mail, with reason, source and date. */
export function suppressionsApi({ db }: ApiDeps) {
  const app = new Hono<ApiEnv>();

  app.get('/', async (c) => {
    const q = parseWith(SuppressionListQuery, c.req.query(), 'query');
    const rows = await db
      .select()
      .from(suppressions)
      .where(and(eq(suppressions.tenantId, c.var.tenantId), q.after ? gt(suppressions.email, normaliseAddress(q.after)) : undefined))
      .orderBy(asc(suppressions.email))
      .limit(q.limit);
    return c.json({ suppressions: rows.map(view), next: rows.length === q.limit ? rows[rows.length - 1]!.email : null });
  });

  app.get('/:email', async (c) => {
    const [row] = await db
      .select()
      .from(suppressions)
      .where(and(eq(suppressions.tenantId, c.var.tenantId), eq(suppressions.email, normaliseAddress(c.req.param('email')))));
    if (!row) throw problems.notFound('That address is not suppressed');
    return c.json(view(row));
  });

  app.post('/', async (c) => {
    const tenantId = c.var.tenantId;
    const body = await jsonBody(c, SuppressionBody);
    const added = await db.transaction(async (tx) => {
      const added = await suppress(tx, { tenantId, email: body.email, reason: body.reason, source: 'api', detail: body.detail });
      if (added) await appendAudit(tx, { tenantId, step: 'suppression.added', detail: { reason: body.reason, source: 'api' } });
      return added;
    });
    const [row] = await db.select().from(suppressions).where(and(eq(suppressions.tenantId, tenantId), eq(suppressions.email, normaliseAddress(body.email))));
    return c.json(view(row!), added ? 201 : 200);
  });

  app.delete('/:email', async (c) => {
    const tenantId = c.var.tenantId;
    const removed = await db.transaction(async (tx) => {
      const rows = await tx
        .delete(suppressions)
        .where(and(eq(suppressions.tenantId, tenantId), eq(suppressions.email, normaliseAddress(c.req.param('email')))))
        .returning({ reason: suppressions.reason });
      if (rows.length) await appendAudit(tx, { tenantId, step: 'suppression.removed', detail: { reason: rows[0]!.reason, source: 'api' } });
      return rows.length > 0;
    });
    if (!removed) throw problems.notFound('That address is not suppressed');
    return c.body(null, 204);
  });

  return app;
}
