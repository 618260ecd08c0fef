import { createRoute, z } from '@hono/zod-openapi';
import { adminAuth } from './admin-auth.js';
import type { ApiDeps } from './env.js';
import { jsonResponse, OPERATOR, problemResponses, router } from './contract.js';
import { problems } from './problem.js';
import { putPool } from '../domain/tenancy/pools.js';
import { createTenant, getTenant, listTenants, setTenantSandbox, setTenantStatus, TenantError } from '../domain/tenancy/tenants.js';
import { ApiKeyCreated } from './api-keys.js';

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, up to 63');
export const TenantParams = z.object({
  id: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
const PoolParams = z.object({ id: slug.openapi({ param: { name: 'id', in: 'path' } }) });

export const TenantView = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.enum(['active', 'suspended', 'held']),
    statusReason: z.string().nullable(),
    sandbox: z.boolean(),
    poolId: z.string().nullable(),
    keyCount: z.number().int(),
    domains: z.array(z.object({ domain: z.string(), status: z.string(), dkimVerified: z.boolean(), lastCheckedAt: z.string().nullable() })),
    createdAt: z.string(),
  })
  .openapi('Tenant');

const CreateTenantBody = z
  .object({
    id: slug.describe('The tenant id, a slug chosen by the operator'),
    name: z.string().min(1).max(200),
    poolId: z.string().min(1).max(128),
    sandbox: z.boolean().optional().describe('May trigger before a domain has verified (development only)'),
  })
  .strict();
const ReasonBody = z.object({ reason: z.string().min(1).max(500) }).strict();
const SandboxBody = z.object({ sandbox: z.boolean() }).strict();
export const PoolBody = z
  .object({
    name: z.string().min(1).max(200),
    kind: z.enum(['shared', 'dedicated']),
    relay: z
      .object({ host: z.string().min(1).max(253), port: z.number().int().min(1).max(65_535) })
      .strict()
      .nullable()
      .optional()
      .describe('Smart host; absent: direct MX delivery'),
    ips: z
      .array(
        z
          .object({
            id: slug,
            ip: z.union([z.ipv4(), z.ipv6()]),
            ehloName: z
              .string()
              .max(253)
              .regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'a host name'),
            weight: z.number().int().min(0).max(10_000).default(100),
          })
          .strict(),
      )
      .max(256)
      .refine((s) => new Set(s.map((x) => x.id)).size === s.length, 'source ids must be distinct'),
  })
  .strict();
const PoolPutView = z.object({ id: z.string(), created: z.boolean(), warming: z.array(z.string()), draining: z.array(z.string()) });

const tag = ['operators'];
const { security } = OPERATOR;
const routes = {
  create: createRoute({
    method: 'post',
    path: '/tenants',
    tags: tag,
    security,
    summary: 'Create a tenant with its first API key (shown once)',
    request: { body: { required: true, content: { 'application/json': { schema: CreateTenantBody } } } },
    responses: {
      201: jsonResponse(z.object({ tenant: TenantView, apiKey: ApiKeyCreated }), 'The tenant and its first key, in clear this once'),
      ...problemResponses(400, 401, 409, 413, 415, 422),
    },
  }),
  list: createRoute({
    method: 'get',
    path: '/tenants',
    tags: tag,
    security,
    summary: 'Tenants with status, pool, domains and their DNS state, key count',
    responses: { 200: jsonResponse(z.object({ tenants: z.array(TenantView) }), 'All tenants'), ...problemResponses(400, 401) },
  }),
  one: createRoute({
    method: 'get',
    path: '/tenants/{id}',
    tags: tag,
    security,
    summary: 'One tenant',
    request: { params: TenantParams },
    responses: { 200: jsonResponse(TenantView, 'The tenant'), ...problemResponses(400, 401, 404, 422) },
  }),
  suspend: createRoute({
    method: 'post',
    path: '/tenants/{id}/suspend',
    tags: tag,
    security,
    summary: 'Suspend: its keys get 403 and nothing of it is sent',
    request: { params: TenantParams, body: { required: true, content: { 'application/json': { schema: ReasonBody } } } },
    responses: { 200: jsonResponse(TenantView, 'Suspended'), ...problemResponses(400, 401, 404, 413, 415, 422) },
  }),
  reinstate: createRoute({
    method: 'post',
    path: '/tenants/{id}/reinstate',
    tags: tag,
    security,
    summary: 'Reinstate a suspended or held tenant',
    request: { params: TenantParams, body: { required: false, content: { 'application/json': { schema: ReasonBody.partial() } } } },
    responses: { 200: jsonResponse(TenantView, 'Active again'), ...problemResponses(400, 401, 404, 413, 415, 422) },
  }),
  sandbox: createRoute({
    method: 'put',
    path: '/tenants/{id}/sandbox',
    tags: tag,
    security,
    summary: 'Mark a development tenant as sandbox (may trigger before DKIM verifies)',
    request: { params: TenantParams, body: { required: true, content: { 'application/json': { schema: SandboxBody } } } },
    responses: { 200: jsonResponse(TenantView, 'Updated'), ...problemResponses(400, 401, 404, 413, 415, 422) },
  }),
  putPool: createRoute({
    method: 'put',
    path: '/pools/{id}',
    tags: tag,
    security,
    summary: 'Create or replace a pool: new IPs warm up, removed ones drain',
    request: { params: PoolParams, body: { required: true, content: { 'application/json': { schema: PoolBody } } } },
    responses: { 200: jsonResponse(PoolPutView, 'The pool as stored'), ...problemResponses(400, 401, 409, 413, 415, 422) },
  }),
};

/** A TenantError as its problem (404, 409, or 422 naming `invalidPath`); anything else rethrown. */
export const tenantProblem =
  (invalidPath: string) =>
  (err: unknown): never => {
    if (err instanceof TenantError)
      throw err.kind === 'not-found'
        ? problems.notFound(err.message)
        : err.kind === 'conflict'
          ? problems.conflict(err.message)
          : problems.invalid(err.message, [{ path: invalidPath, message: err.message }]);
    throw err;
  };
const asProblem = tenantProblem('body.poolId');

/** Operator routes for tenants and pools (mounted under /v1/admin). */
export function tenantsAdminApi({ db, adminKey }: ApiDeps) {
  const app = router();
  app.use(adminAuth(adminKey));
  const by = 'operator';

  app.openapi(routes.create, async (c) => {
    const body = c.req.valid('json');
    const created = await createTenant(db, { ...body, by }).catch(asProblem);
    return c.json(created, 201);
  });
  app.openapi(routes.list, async (c) => c.json({ tenants: await listTenants(db) }, 200));
  app.openapi(routes.one, async (c) => {
    const t = await getTenant(db, c.req.valid('param').id);
    if (!t) throw problems.notFound(`No tenant ${c.req.valid('param').id}`);
    return c.json(t, 200);
  });
  app.openapi(routes.suspend, async (c) =>
    c.json(await setTenantStatus(db, c.req.valid('param').id, { status: 'suspended', reason: c.req.valid('json').reason, by }).catch(asProblem), 200),
  );
  app.openapi(routes.reinstate, async (c) =>
    c.json(
      await setTenantStatus(db, c.req.valid('param').id, { status: 'active', reason: c.req.valid('json').reason ?? null, by }).catch(asProblem),
      200,
    ),
  );
  app.openapi(routes.sandbox, async (c) => {
    const { id } = c.req.valid('param');
    await setTenantSandbox(db, id, c.req.valid('json').sandbox, by).catch(asProblem);
    return c.json((await getTenant(db, id))!, 200);
  });
  app.openapi(routes.putPool, async (c) => {
    const { id } = c.req.valid('param');
    const result = await putPool(db, id, c.req.valid('json'), by);
    if ('error' in result) throw problems.conflict(result.error!);
    return c.json({ id, created: result.created, warming: [...result.warming], draining: [...result.draining] }, 200);
  });
  return app;
}
