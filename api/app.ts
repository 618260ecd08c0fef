import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { adminApi } from './admin.js';
import { alarmsApi } from './alarms.js';
import { tenantAuth } from './auth.js';
import { createApiCaches } from './cache.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { notificationsApi } from './notifications.js';
import { openApiDocument } from './openapi.js';
import { providerFeedbackApi } from './provider-feedback.js';
import { statusWebhookApi } from './status-webhook.js';
import { suppressionsApi } from './suppressions.js';
import { unsubscribeApi } from './unsubscribe.js';
import { ApiProblem, problemResponse, problems } from './problem.js';
import { usersApi } from './users.js';

/** Request bodies above this are refused before they are parsed. */
const MAX_BODY_BYTES = 64 * 1024;
/** A batch of up to 1,000 notifications needs more room. */
const MAX_BATCH_BODY_BYTES = 2 * 1024 * 1024;

export function createApi(deps: ApiDeps, opts: { onError?: (err: unknown) => void } = {}) {
  const app = new Hono<ApiEnv>();
  const caches = createApiCaches();

  app.onError((err, c) => {
    if (err instanceof ApiProblem) return problemResponse(c, err.status, err.problem);
    if (err instanceof HTTPException) return problemResponse(c, err.status, { type: 'http-error', title: 'Request failed', detail: err.message });
    opts.onError?.(err);
    return problemResponse(c, 500, { type: 'internal', title: 'Internal error', detail: 'The request failed unexpectedly; it has been logged' });
  });
  app.notFound((c) => problemResponse(c, 404, { type: 'not-found', title: 'Not found', detail: `No route for ${c.req.method} ${c.req.path}` }));

  app.get('/health', (c) => c.json({ ok: true }));
  app.get('/openapi.json', (c) => c.json(openApiDocument()));

  // Operator routes first: they have their own key, and the tenant-key middleware below must not see them.
  const admin = new Hono();
  admin.use(bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw problems.tooLarge(`Request bodies are limited to ${MAX_BODY_BYTES} bytes`); } }));
  admin.route('/alarms', alarmsApi(deps));
  admin.route('/', adminApi(deps));
  app.route('/v1/admin', admin);

  // Keyless routes, also ahead of the tenant-key middleware: the signed link or signed body is the credential.
  const keyless = new Hono();
  const keylessLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw problems.tooLarge(`Request bodies are limited to ${MAX_BODY_BYTES} bytes`); } });
  keyless.use('/unsubscribe/*', keylessLimit);
  keyless.use('/feedback/*', keylessLimit);
  keyless.route('/unsubscribe', unsubscribeApi(deps));
  keyless.route('/feedback', providerFeedbackApi(deps));
  app.route('/v1', keyless);

  const v1 = new Hono<ApiEnv>();
  const limit = (maxSize: number) => bodyLimit({ maxSize, onError: () => { throw problems.tooLarge(`Request bodies are limited to ${maxSize} bytes`); } });
  const defaultLimit = limit(MAX_BODY_BYTES);
  const batchLimit = limit(MAX_BATCH_BODY_BYTES);
  v1.use((c, next) => (c.req.method === 'POST' && c.req.path === '/v1/notifications/batch' ? batchLimit : defaultLimit)(c, next));
  v1.use(tenantAuth(deps.db, caches.tenantByKeyHash));
  v1.route('/users', usersApi(deps));
  v1.route('/suppressions', suppressionsApi(deps));
  v1.route('/webhook', statusWebhookApi(deps));
  v1.route('/notifications', notificationsApi({ ...deps, caches }));
  app.route('/v1', v1);
  return app;
}

export type Api = ReturnType<typeof createApi>;
