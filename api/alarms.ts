import { and, desc, eq, isNotNull, isNull } from 'drizzle-orm';
import { Hono } from 'hono';
import { alarms } from '../db/schema.js';
import { adminAuth } from './admin-auth.js';
import type { ApiDeps } from './env.js';
import { AlarmListQuery } from './feedback-schemas.js';
import { parseWith } from './validate.js';

/** Operator view of alarms (blocklist listings, delivery-rate thresholds), newest first. */
export function alarmsApi({ db, adminKey }: ApiDeps) {
  const app = new Hono();
  app.use(adminAuth(adminKey));
  app.get('/', async (c) => {
    const q = parseWith(AlarmListQuery, c.req.query(), 'query');
    const state = q.state === 'open' ? isNull(alarms.resolvedAt) : q.state === 'resolved' ? isNotNull(alarms.resolvedAt) : undefined;
    const rows = await db
      .select()
      .from(alarms)
      .where(and(state, q.kind ? eq(alarms.kind, q.kind) : undefined))
      .orderBy(desc(alarms.raisedAt))
      .limit(q.limit);
    return c.json({
      alarms: rows.map((a) => ({
        id: a.id,
        kind: a.kind,
        severity: a.severity,
        scope: a.scope,
        message: a.message,
        detail: a.detail,
        raisedAt: a.raisedAt.toISOString(),
        resolvedAt: a.resolvedAt?.toISOString() ?? null,
        notifiedAt: a.notifiedAt?.toISOString() ?? null,
        notifyAttempts: a.notifyAttempts,
      })),
    });
  });
  return app;
}
