import { createHash, timingSafeEqual } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { serve, type ServerType } from '@hono/node-server';
import type { Db } from '../db/client.js';
import { databaseGauges } from '../domain/metrics/db-gauges.js';
import { registry } from '../domain/metrics/registry.js';
import { OPEN, problemResponses, router } from './contract.js';
import { problemResponse, problems } from './problem.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * GET /metrics: this process's metrics (the API's, and the worker's when it runs in the same
 * process, as under `npm start`) and the gauges read from Postgres, which name every tenant's
 * notification types. With `token` it needs `Authorization: Bearer <token>` (METRICS_TOKEN, on
 * the public API port); without, it is open and belongs on an internal address only (API_METRICS_ADDRESS).
 */
export function metricsApi({ db }: { db: Db }, opts: { token?: string } = {}) {
  const app = router();
  const fromDatabase = databaseGauges(db);
  const expected = opts.token ? digest(opts.token) : undefined;
  const scrape = createRoute({
    method: 'get',
    path: '/metrics',
    summary: expected
      ? 'Prometheus metrics (text exposition format 0.0.4); METRICS_TOKEN as bearer'
      : 'Prometheus metrics (text exposition format 0.0.4); no key, on an internal address only',
    ...(expected ? { security: [{ metricsToken: [] }] } : OPEN),
    responses: { 200: { description: 'Metrics', content: { 'text/plain': { schema: z.string() } } }, ...(expected ? problemResponses(401) : {}) },
  });
  if (expected)
    app.openAPIRegistry.registerComponent('securitySchemes', 'metricsToken', { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN' });
  app.openapi(scrape, async (c) => {
    if (expected) {
      const given = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
      if (!given || !timingSafeEqual(digest(given), expected))
        throw problems.unauthorized('Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>"');
    }
    const text = (await registry.metrics()) + (await fromDatabase.metrics());
    return c.text(text, 200, { 'content-type': registry.contentType });
  });
  return app;
}

/** The API's metrics on their own listener (API_METRICS_ADDRESS, host:port), like the worker's WORKER_METRICS_ADDRESS. */
export function serveApiMetrics(db: Db, address: string): ServerType {
  const app = metricsApi({ db });
  app.onError((_err, c) => problemResponse(c, 500, { type: 'internal', title: 'Internal error', detail: 'The metrics could not be read' }));
  const at = address.lastIndexOf(':');
  return serve({ fetch: app.fetch, hostname: address.slice(0, at), port: Number(address.slice(at + 1)) });
}
