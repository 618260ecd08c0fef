import { createRoute, z } from '@hono/zod-openapi';
import { databaseGauges } from '../domain/metrics/db-gauges.js';
import { registry } from '../domain/metrics/registry.js';
import { OPEN, router } from './contract.js';
import type { ApiDeps } from './env.js';

const scrape = createRoute({
  method: 'get',
  path: '/metrics',
  summary: 'Prometheus metrics (text exposition format 0.0.4); no key, keep it on the internal network',
  ...OPEN,
  responses: { 200: { description: 'Metrics', content: { 'text/plain': { schema: z.string() } } } },
});

/**
 * GET /metrics: this process's metrics (the API's, and the worker's when it runs in the same
 * process, as under `npm start`) and the gauges read from Postgres.
 */
export function metricsApi({ db }: ApiDeps) {
  const app = router();
  const fromDatabase = databaseGauges(db);
  app.openapi(scrape, async (c) => {
    const text = (await registry.metrics()) + (await fromDatabase.metrics());
    return c.text(text, 200, { 'content-type': registry.contentType });
  });
  return app;
}
