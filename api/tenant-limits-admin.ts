import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULT_RATE_LIMITS, getTenantLimits, setTenantLimits } from '../domain/tenancy/limits.js';
import { TenantError } from '../domain/tenancy/tenants.js';
import { adminAuth } from './admin-auth.js';
import { jsonBody, jsonResponse, OPERATOR, problemResponses, router } from './contract.js';
import type { ApiDeps } from './env.js';
import { problems } from './problem.js';
import { TenantParams } from './tenants-admin.js';

// Operators set a tenant's API rate limits (GET/PUT /v1/admin/tenants/{id}/limits); every API
// process applies a change from the tenant's next request on (the limits are read by the bucket statement).

const perSecond = z.number().int().min(1).max(1_000_000);
const burst = z.number().int().min(1).max(10_000_000);
const LimitsBody = z
  .object({
    requestsPerSecond: perSecond
      .nullable()
      .optional()
      .describe('API requests per second; null or absent: the default (RATE_LIMIT_REQUESTS_PER_SECOND)'),
    requestsBurst: burst.nullable().optional().describe('requests a full bucket allows at once'),
    notificationsPerSecond: perSecond.nullable().optional().describe('notifications triggered per second (each batch item counts)'),
    notificationsBurst: burst
      .nullable()
      .optional()
      .describe('notifications a full bucket allows at once; a larger batch passes only on a full bucket'),
  })
  .strict();
const Limits = z.object({
  requestsPerSecond: z.number(),
  requestsBurst: z.number(),
  notificationsPerSecond: z.number(),
  notificationsBurst: z.number(),
});
const LimitsView = z
  .object({
    tenantId: z.string(),
    configured: z.object({
      requestsPerSecond: z.number().nullable(),
      requestsBurst: z.number().nullable(),
      notificationsPerSecond: z.number().nullable(),
      notificationsBurst: z.number().nullable(),
    }),
    effective: Limits,
  })
  .openapi('TenantLimits');

const tags = ['operators'];
const { security } = OPERATOR;
const routes = {
  get: createRoute({
    method: 'get',
    path: '/tenants/{id}/limits',
    tags,
    security,
    summary: "A tenant's API rate limits: the operator's setting and what is in force",
    request: { params: TenantParams },
    responses: { 200: jsonResponse(LimitsView, 'The limits'), ...problemResponses(400, 401, 404, 422) },
  }),
  put: createRoute({
    method: 'put',
    path: '/tenants/{id}/limits',
    tags,
    security,
    summary: "Set a tenant's API rate limits (absent or null: the default); applies from its next request",
    request: { params: TenantParams, body: jsonBody(LimitsBody) },
    responses: { 200: jsonResponse(LimitsView, 'The limits as now in force'), ...problemResponses(400, 401, 404, 413, 415, 422) },
  }),
};

const asProblem = (err: unknown): never => {
  if (err instanceof TenantError && err.kind === 'not-found') throw problems.notFound(err.message);
  throw err;
};

export function tenantLimitsAdminApi({ db, adminKey, rateLimits = DEFAULT_RATE_LIMITS }: ApiDeps) {
  const app = router();
  app.use(adminAuth(adminKey));
  app.openapi(routes.get, async (c) => c.json(await getTenantLimits(db, c.req.valid('param').id, rateLimits).catch(asProblem), 200));
  app.openapi(routes.put, async (c) =>
    c.json(await setTenantLimits(db, c.req.valid('param').id, c.req.valid('json'), 'operator', rateLimits).catch(asProblem), 200),
  );
  return app;
}
