import { createRoute, z } from '@hono/zod-openapi';
import { appendAudit } from '../domain/audit/append.js';
import { checkServiceAccount, deletePushCredential, pushCredentialOf, savePushCredential } from '../domain/push/credentials.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { BODY_PROBLEMS, jsonBody, jsonResponse, noContent, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { problems } from './problem.js';

// The JSON key file of a Firebase service account, as the Firebase console downloads it.
const ServiceAccountBody = z
  .object({
    type: z.literal('service_account'),
    project_id: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a Firebase project id (6-30 of a-z, 0-9 and -)'),
    client_email: z.string().regex(/^[^@\s\0]+@[^@\s\0]+\.iam\.gserviceaccount\.com$/, 'the service account address (…@….iam.gserviceaccount.com)'),
    private_key: z.string().min(1).max(8192).describe('RSA private key, PEM'),
    private_key_id: z.string().max(128).optional(),
    client_id: z.string().max(128).optional(),
    token_uri: z.string().url().optional(),
  })
  .passthrough()
  .openapi('FirebaseServiceAccount');
const PushCredentialView = z
  .object({
    projectId: z.string(),
    clientEmail: z.string(),
    updatedAt: z.string().datetime().describe('When it was set'),
  })
  .openapi('PushCredential');

const read = createRoute({
  method: 'get',
  path: '/',
  summary: "The Firebase project the tenant's pushes go to (the key itself is never shown)",
  responses: {
    200: jsonResponse(PushCredentialView, 'The service account in use'),
    ...problemResponses(...TENANT_PROBLEMS, 404),
  },
});
const set = createRoute({
  method: 'put',
  path: '/',
  summary: "Set the Firebase service account (its JSON key file) the tenant's pushes are sent with, replacing any earlier one",
  request: { body: jsonBody(ServiceAccountBody) },
  responses: {
    200: jsonResponse(PushCredentialView, 'Stored, encrypted; pushes use it from now on'),
    ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS),
  },
});
const remove = createRoute({
  method: 'delete',
  path: '/',
  summary: "Remove the service account: the tenant's pushes fail (and fall back to e-mail) until a new one is set",
  responses: { 204: noContent, ...problemResponses(...TENANT_PROBLEMS, 404) },
});

const asView = (v: { projectId: string; clientEmail: string; updatedAt: Date }) => ({ ...v, updatedAt: v.updatedAt.toISOString() });

/** The tenant's own Firebase service account: its pushes reach its own Firebase project. */
export function pushCredentialsApi({ db, secrets }: ApiDeps) {
  const app = router<ApiEnv>();

  app.openapi(read, async (c) => {
    const found = await pushCredentialOf(db, c.var.tenantId);
    if (!found) throw problems.notFound('No Firebase service account is set: PUT one to send push notifications');
    return c.json(asView(found), 200);
  });

  app.openapi(set, async (c) => {
    if (!secrets) throw problems.unavailable('Push credentials need the engine secret key (SECRET_KEY), which this API was not given');
    const checked = checkServiceAccount(c.req.valid('json'));
    if (!checked.ok) throw problems.invalid(checked.detail, [{ path: 'private_key', message: checked.detail }]);
    const tenantId = c.var.tenantId;
    const stored = await db.transaction(async (tx) => {
      const saved = await savePushCredential(tx, secrets, tenantId, checked.account);
      await appendAudit(tx, { tenantId, step: 'push.credential_set', detail: { projectId: saved.projectId, clientEmail: saved.clientEmail } });
      return saved;
    });
    return c.json(asView(stored), 200);
  });

  app.openapi(remove, async (c) => {
    const tenantId = c.var.tenantId;
    const gone = await db.transaction(async (tx) => {
      const removed = await deletePushCredential(tx, tenantId);
      if (removed) await appendAudit(tx, { tenantId, step: 'push.credential_removed' });
      return removed;
    });
    if (!gone) throw problems.notFound('No Firebase service account is set');
    return c.body(null, 204);
  });

  return app;
}
