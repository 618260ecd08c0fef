import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq, isNotNull, isNull } from 'drizzle-orm';
import { alarms } from '../db/schema.js';
import { adminAuth } from './admin-auth.js';
import { jsonResponse, OPERATOR, problemResponses, router } from './contract.js';
import type { ApiDeps } from './env.js';
import { AlarmListQuery, AlarmView } from './feedback-schemas.js';

const list = createRoute({
  method: 'get',
  path: '/',
  summary: 'Alarms: blocklist listings and delivery-rate thresholds, newest first',
  ...OPERATOR,
  request: { query: AlarmListQuery },
  responses: { 200: jsonResponse(z.object({ alarms: z.array(AlarmView) }), 'Alarms'), ...problemResponses(400, 401, 422) },
});

/** Operator view of alarms (blocklist listings, delivery-rate thresholds), newest first. */
export function alarmsApi({ db, adminKey }: ApiDeps) {
  const app = router();
  app.use(adminAuth(adminKey));
  app.openapi(list, async (c) => {
    const q = c.req.valid('query');
    const state = q.state === 'open' ? isNull(alarms.resolvedAt) : q.state === 'resolved' ? isNotNull(alarms.resolvedAt) : undefined;
    const rows = await db
      .select()
      .from(alarms)
      .where(and(state, q.kind ? eq(alarms.kind, q.kind) : undefined))
      .orderBy(desc(alarms.raisedAt))
      .limit(q.limit);
    return c.json(
      {
        alarms: rows.map((a) => ({
          id: a.id,
          kind: a.kind,
          severity: a.severity,
          scope: a.scope,
          message: a.message,
          detail: a.detail as Record<string, unknown>,
          raisedAt: a.raisedAt.toISOString(),
          resolvedAt: a.resolvedAt?.toISOString() ?? null,
          notifiedAt: a.notifiedAt?.toISOString() ?? null,
          notifyAttempts: a.notifyAttempts,
        })),
      },
      200,
    );
  });
  return app;
}
