import { createRoute, z } from '@hono/zod-openapi';
import { listAlarms } from '../domain/monitor/alarms.js';
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
    return c.json({ alarms: await listAlarms(db, q) }, 200);
  });
  return app;
}
