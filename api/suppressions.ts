import { createRoute, z } from '@hono/zod-openapi';
import { and, asc, eq, gt } from 'drizzle-orm';
import { appendAudit } from '../domain/audit/append.js';
import { normaliseAddress, suppress } from '../domain/feedback/suppression.js';
import { suppressions } from '../db/schema.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { BODY_PROBLEMS, jsonBody, jsonResponse, noContent, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { SuppressionBody, SuppressionListQuery, SuppressionPage, SuppressionView } from './feedback-schemas.js';
import { problems } from './problem.js';

/** The address as given: it is normalised the way suppress() stores it, and an unknown one is not found. */
const emailParam = z.object({ email: z.string().describe('The suppressed address') });

const list = createRoute({
  method: 'get',
  path: '/',
  summary: 'Suppressed addresses of the tenant (hard bounce, complaint, unsubscribe, manual), by address',
  request: { query: SuppressionListQuery },
  responses: { 200: jsonResponse(SuppressionPage, 'A page of entries'), ...problemResponses(...TENANT_PROBLEMS, 422) },
});
const readOne = createRoute({
  method: 'get',
  path: '/{email}',
  summary: 'One suppression entry',
  request: { params: emailParam },
  responses: { 200: jsonResponse(SuppressionView, 'The entry'), ...problemResponses(...TENANT_PROBLEMS, 404) },
});
const add = createRoute({
  method: 'post',
  path: '/',
  summary: 'Suppress an address (no e-mail reaches it)',
  request: { body: jsonBody(SuppressionBody) },
  responses: {
    200: jsonResponse(SuppressionView, 'Already suppressed'),
    201: jsonResponse(SuppressionView, 'Added'),
    ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS),
  },
});
const lift = createRoute({
  method: 'delete',
  path: '/{email}',
  summary: 'Lift a suppression',
  request: { params: emailParam },
  responses: { 204: noContent, ...problemResponses(...TENANT_PROBLEMS, 404, 413) },
});

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
  const app = router<ApiEnv>();

  app.openapi(list, async (c) => {
    const q = c.req.valid('query');
    const rows = await db
      .select()
      .from(suppressions)
      .where(and(eq(suppressions.tenantId, c.var.tenantId), q.after ? gt(suppressions.email, normaliseAddress(q.after)) : undefined))
      .orderBy(asc(suppressions.email))
      .limit(q.limit);
    return c.json({ suppressions: rows.map(view), next: rows.length === q.limit ? rows[rows.length - 1]!.email : null }, 200);
  });

  app.openapi(readOne, async (c) => {
    const [row] = await db
      .select()
      .from(suppressions)
      .where(and(eq(suppressions.tenantId, c.var.tenantId), eq(suppressions.email, normaliseAddress(c.req.valid('param').email))));
    if (!row) throw problems.notFound('That address is not suppressed');
    return c.json(view(row), 200);
  });

  app.openapi(add, async (c) => {
    const tenantId = c.var.tenantId;
    const body = c.req.valid('json');
    const added = await db.transaction(async (tx) => {
      const added = await suppress(tx, { tenantId, email: body.email, reason: body.reason, source: 'api', detail: body.detail });
      if (added) await appendAudit(tx, { tenantId, step: 'suppression.added', detail: { reason: body.reason, source: 'api' } });
      return added;
    });
    const [row] = await db
      .select()
      .from(suppressions)
      .where(and(eq(suppressions.tenantId, tenantId), eq(suppressions.email, normaliseAddress(body.email))));
    return c.json(view(row!), added ? 201 : 200);
  });

  app.openapi(lift, async (c) => {
    const tenantId = c.var.tenantId;
    const removed = await db.transaction(async (tx) => {
      const rows = await tx
        .delete(suppressions)
        .where(and(eq(suppressions.tenantId, tenantId), eq(suppressions.email, normaliseAddress(c.req.valid('param').email))))
        .returning({ reason: suppressions.reason });
      if (rows.length) await appendAudit(tx, { tenantId, step: 'suppression.removed', detail: { reason: rows[0]!.reason, source: 'api' } });
      return rows.length > 0;
    });
    if (!removed) throw problems.notFound('That address is not suppressed');
    return c.body(null, 204);
  });

  return app;
}
