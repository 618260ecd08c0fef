import { createRoute, z } from '@hono/zod-openapi';
import { apiKeyScopes, createApiKey, listApiKeys, revokeApiKey } from '../domain/tenancy/api-keys.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { jsonResponse, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { problems } from './problem.js';

const Scope = z.enum(apiKeyScopes).describe('send: notifications, users, preferences, suppressions; manage: domains, keys, webhook');

export const ApiKeyCreated = z
  .object({
    id: z.string(),
    key: z.string().describe('The key itself: shown this once, stored only as a hash'),
    prefix: z.string(),
    name: z.string(),
    scopes: z.array(Scope),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
  })
  .openapi('ApiKeyCreated');
const ApiKeyView = z
  .object({
    id: z.string(),
    prefix: z.string(),
    name: z.string(),
    scopes: z.array(Scope),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    expiresAt: z.string().nullable(),
  })
  .openapi('ApiKey');
const CreateKeyBody = z
  .object({
    name: z.string().min(1).max(100),
    scopes: z.array(Scope).min(1).max(2),
    expiresAt: z.iso.datetime({ offset: true }).optional().describe('Refused after this time; absent: never expires'),
  })
  .strict();
const KeyParams = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

const tags = ['api keys'];
const routes = {
  create: createRoute({
    method: 'post',
    path: '/',
    tags,
    summary: "Create a key (within the calling key's own scopes); shown once",
    request: { body: { required: true, content: { 'application/json': { schema: CreateKeyBody } } } },
    responses: { 201: jsonResponse(ApiKeyCreated, 'The new key'), ...problemResponses(...TENANT_PROBLEMS, 413, 415, 422) },
  }),
  list: createRoute({
    method: 'get',
    path: '/',
    tags,
    summary: "The tenant's live keys (never the keys themselves)",
    responses: { 200: jsonResponse(z.object({ keys: z.array(ApiKeyView) }), 'Keys'), ...problemResponses(...TENANT_PROBLEMS) },
  }),
  revoke: createRoute({
    method: 'delete',
    path: '/{id}',
    tags,
    summary: 'Revoke a key: every API process refuses it within a second',
    request: { params: KeyParams },
    responses: { 204: { description: 'Revoked' }, ...problemResponses(...TENANT_PROBLEMS, 404, 422) },
  }),
};

/** /v1/api-keys: several keys live at once, so a rotation needs no downtime. Needs the manage scope. */
export function apiKeysApi({ db }: ApiDeps) {
  const app = router<ApiEnv>();
  app.openapi(routes.create, async (c) => {
    const body = c.req.valid('json');
    const beyond = body.scopes.filter((s) => !c.var.scopes.includes(s));
    if (beyond.length) throw problems.forbidden(`A key can only create keys within its own scopes; this one lacks ${beyond.join(', ')}`);
    const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now())
      throw problems.invalid('expiresAt is in the past', [{ path: 'body.expiresAt', message: 'must be in the future' }]);
    const key = await createApiKey(db, c.var.tenantId, { name: body.name, scopes: body.scopes, expiresAt, by: 'api-key' });
    return c.json(key, 201);
  });
  app.openapi(routes.list, async (c) => c.json({ keys: await listApiKeys(db, c.var.tenantId) }, 200));
  app.openapi(routes.revoke, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await revokeApiKey(db, c.var.tenantId, id, 'api-key'))) throw problems.notFound(`No live key ${id}`);
    return c.body(null, 204);
  });
  return app;
}
