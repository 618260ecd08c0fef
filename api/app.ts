import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { docsApi } from './docs.js';
import { pushCredentialsApi } from './push-credentials.js';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { TemplateDataError } from '../domain/templates/errors.js';
import { compileBusy } from '../templates/errors.js';
import { setCompileLimits, type CompileLimits } from '../templates/mjml.js';
import { adminApi } from './admin.js';
import { placementAdminApi } from './placement-admin.js';
import { alarmsApi } from './alarms.js';
import { KEY_CHANGES_CHANNEL, type ApiKeyScope } from '../domain/tenancy/api-keys.js';
import { apiKeysApi } from './api-keys.js';
import { requireScope, tenantAuth } from './auth.js';
import { adminAuth } from './admin-auth.js';
import { clientAddressOf } from './client-address.js';
import { auditVerifyApi } from './audit-verify.js';
import { codecApi, codecCors } from './codec.js';
import { clientCertBinding } from './client-cert.js';
import { clientCertsAdminApi } from './client-certs-admin.js';
import { consoleSessionsAdminApi } from './console-sessions-admin.js';
import { createApiCaches } from './cache.js';
import { jsonResponse, OPEN, refuseInvalid, router } from './contract.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { stateStringGuard } from './document.js';
import { methodNotAllowed, refuseUnsafeStrings } from './guards.js';
import { notificationsApi } from './notifications.js';
import { providerFeedbackApi } from './provider-feedback.js';
import { statusWebhookApi } from './status-webhook.js';
import { suppressionsApi } from './suppressions.js';
import { unsubscribeApi } from './unsubscribe.js';
import { ApiProblem, problemResponse, problems } from './problem.js';
import { privacyApi } from './privacy.js';
import { rateLimit } from './rate-limit.js';
import { sendingDomainsApi } from './sending-domains.js';
import { dmarcApi } from './dmarc.js';
import { providerDataAdminApi } from './provider-data-admin.js';
import { tenantsAdminApi } from './tenants-admin.js';
import { tenantLimitsAdminApi } from './tenant-limits-admin.js';
import { usersApi } from './users.js';
import { categoriesApi } from './categories.js';
import { notificationTypesApi } from './notification-types.js';
import { layoutsApi } from './layouts.js';
import { testRecipientsApi } from './test-recipients.js';
import { metricsApi } from './metrics.js';
import { preferenceLinkApi } from './preference-link.js';
import { Hono } from 'hono';
import { defaultDeliveryDeps } from '../domain/pool/delivery-deps.js';
import { databaseUnavailable } from '../db/unavailable.js';
import { operatorConsole } from '../web/console/routes.js';
import { preferenceCentre } from '../web/preferences/routes.js';
import { isHttps } from '../web/csrf.js';

/** Request bodies above this are refused before they are parsed. */
const MAX_BODY_BYTES = 64 * 1024;
/** A batch of up to 1,000 notifications needs more room. */
const MAX_BATCH_BODY_BYTES = 2 * 1024 * 1024;

const documentInfo = {
  openapi: '3.1.0',
  info: { title: 'notiflow', version: '0.1.0', description: 'Account alerts by e-mail or push, one durable Temporal workflow per notification.' },
  security: [{ tenantKey: [] }],
};

const health = createRoute({
  method: 'get',
  path: '/health',
  summary: 'Liveness',
  ...OPEN,
  responses: { 200: jsonResponse(z.object({ ok: z.boolean() }), 'The API is up') },
});
const document = createRoute({
  method: 'get',
  path: '/openapi.json',
  summary: 'This document, generated from the route declarations',
  ...OPEN,
  responses: { 200: jsonResponse(z.record(z.string(), z.unknown()), 'OpenAPI 3.1 document') },
});

/** A resource's routes behind the scope they need (403 problem+json without it). */
function scoped(scope: ApiKeyScope, routes: OpenAPIHono<ApiEnv>) {
  const g = router<ApiEnv>();
  g.use(requireScope(scope));
  g.route('/', routes);
  return g;
}

const RETRY_AFTER_SECONDS = 5;
/** One year; browsers ignore it over plain HTTP, so it is only sent over HTTPS. */
const HSTS = 'max-age=31536000';

/** The API's compile limits unless TEMPLATE_COMPILE_* say otherwise. */
export const API_COMPILE_LIMITS: CompileLimits = { timeoutMs: 5_000, maxQueued: 50 };

export function createApi(deps: ApiDeps, opts: { onError?: (err: unknown) => void } = {}) {
  const app = new OpenAPIHono<ApiEnv>({ defaultHook: refuseInvalid as never });
  const caches = createApiCaches();
  // Version checks, previews and layouts compile on the API's one compile thread: bounded in time and queue.
  setCompileLimits({ ...API_COMPILE_LIMITS, ...deps.compileLimits });
  // A key revoked or a tenant suspended by any API process: every process forgets its cached
  // grants at once (and after a reconnect, when a message may have been missed).
  const forget = () => {
    caches.tenantByKeyHash.clear();
    caches.sendableByTenant.clear();
  };
  // (An app built only to read its document, as the fuzz test does, has no database.)
  const pg = (deps.db as ApiDeps['db'] | undefined)?.$client;
  pg?.listen(KEY_CHANGES_CHANNEL, forget, forget).catch((err: unknown) => opts.onError?.(err));
  app.openAPIRegistry.registerComponent('securitySchemes', 'tenantKey', { type: 'http', scheme: 'bearer', description: 'Tenant API key' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'operatorKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'Operator key (ADMIN_API_KEY); tenant keys are refused',
  });

  app.onError((err, c) => {
    if (err instanceof ApiProblem) {
      // Unavailable is a moment's state (database or Temporal restarting): say when to come back.
      if (err.status === 503) c.header('Retry-After', String(RETRY_AFTER_SECONDS));
      return problemResponse(c, err.status, err.problem);
    }
    if (databaseUnavailable(err)) {
      c.header('Retry-After', String(RETRY_AFTER_SECONDS));
      return problemResponse(c, 503, {
        type: 'unavailable',
        title: 'Service unavailable',
        detail: 'The database is not reachable right now; nothing was recorded. Retry later with the same Idempotency-Key',
      });
    }
    // The router's own refusals (body parsing, media type), in our words.
    if (err instanceof HTTPException && err.status === 415)
      return problemResponse(c, 415, problems.unsupportedMediaType('Content-Type must be application/json').problem);
    if (err instanceof HTTPException && err.status === 400 && err.message.startsWith('Malformed JSON'))
      return problemResponse(c, 400, problems.badRequest('The request body is not valid JSON').problem);
    if (compileBusy(err)) {
      c.header('Retry-After', '1');
      return problemResponse(c, 503, { type: 'unavailable', title: 'Service unavailable', detail: (err as Error).message });
    }
    if (err instanceof TemplateDataError)
      return problemResponse(c, err.status, {
        type: err.status === 404 ? 'not-found' : err.status === 409 ? 'conflict' : 'validation-error',
        title: err.status === 422 ? 'Invalid request' : 'Refused',
        detail: err.message,
        errors: err.problems,
      });
    if (err instanceof HTTPException) return problemResponse(c, err.status, { type: 'http-error', title: 'Request failed', detail: err.message });
    opts.onError?.(err);
    return problemResponse(c, 500, { type: 'internal', title: 'Internal error', detail: 'The request failed unexpectedly; it has been logged' });
  });
  app.notFound((c) => problemResponse(c, 404, { type: 'not-found', title: 'Not found', detail: `No route for ${c.req.method} ${c.req.path}` }));

  if (deps.serve !== 'pages') app.use('/codec/*', codecCors(deps));
  app.use(methodNotAllowed(() => app.routes));
  // Browsers that reached us over HTTPS (directly or behind a proxy that says so) keep to it.
  app.use(async (c, next) => {
    await next();
    if (isHttps(c)) c.header('Strict-Transport-Security', HSTS);
  });
  const limit = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw problems.tooLarge(`Request bodies are limited to ${maxSize} bytes`);
      },
    });
  const defaultLimit = limit(MAX_BODY_BYTES);
  const batchLimit = limit(MAX_BATCH_BODY_BYTES);
  const isBatch = (c: { req: { method: string; path: string } }) => c.req.method === 'POST' && c.req.path === '/v1/notifications/batch';
  // Bodies are parsed (refuseUnsafeStrings) only after the key is checked, and the batch's larger
  // limit is applied then: unauthenticated requests cost no parse and get 64 KiB at most.
  app.use('/v1/*', (c, next) => (isBatch(c) ? next() : defaultLimit(c, next)));

  app.openapi(health, (c) => c.json({ ok: true }, 200));

  // Server-rendered pages, outside the JSON API's document: they answer HTML, errors included.
  const pageLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.text('Request body too large', 413) });
  app.use('/preferences/*', pageLimit);
  // The hosted preference centre: the signed link is the credential.
  app.route('/preferences', preferenceCentre(deps));
  // Unsubscribe pages and the one-click POST, ahead of the tenant-key middleware: the link is the credential.
  const unsubscribe = router();
  // (Mounted at /v1: an unscoped use would run before the tenant key is checked on every route.)
  unsubscribe.use('/unsubscribe/*', refuseUnsafeStrings);
  unsubscribe.route('/unsubscribe', unsubscribeApi(deps));
  app.route('/v1', unsubscribe);
  // API_SERVE=pages: a process for the browser pages alone (e.g. without client certificates), nothing of the tenant or admin API.
  if (deps.serve === 'pages') return app;

  app.openapi(document, (c) => c.json(stateStringGuard(app.getOpenAPI31Document(documentInfo as never)) as unknown as Record<string, unknown>, 200));
  app.route('/', docsApi());
  // Metrics on the public port only behind METRICS_TOKEN; otherwise on their own address (API_METRICS_ADDRESS).
  if (deps.metricsToken) app.route('/', metricsApi(deps, { token: deps.metricsToken }));

  app.use('/console/*', pageLimit);
  // The operator console: its own cookie session (admin key at sign-in); IP changes go through /v1/admin in-process.
  const consolePages = new Hono();
  consolePages.route(
    '/',
    operatorConsole({
      db: deps.db,
      adminKey: deps.adminKey,
      rules: () => deps.providerRules ?? defaultDeliveryDeps().rules,
      temporalUiUrl: deps.temporalUiUrl,
      namespace: () => deps.temporal.options.namespace,
      admin: async (path, init = {}) =>
        app.request(path, {
          method: init.method ?? 'GET',
          headers: { authorization: `Bearer ${deps.adminKey ?? ''}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
        }),
    }),
  );
  app.route('/console', consolePages);

  // Codec server for the Temporal UI and CLI: its own auth (admin key or codec token) and CORS.
  app.use('/codec/*', limit(MAX_BATCH_BODY_BYTES));
  app.route('/codec', codecApi(deps));

  // Operator routes first: they have their own key, and the tenant-key middleware below must not see them.
  const admin = router();
  admin.use(adminAuth(deps.adminKey));
  admin.use(refuseUnsafeStrings);
  admin.route('/alarms', alarmsApi(deps));
  admin.route('/audit', auditVerifyApi(deps));
  admin.route('/', tenantsAdminApi(deps));
  admin.route('/', clientCertsAdminApi(deps));
  admin.route('/', tenantLimitsAdminApi(deps));
  admin.route('/', consoleSessionsAdminApi(deps));
  admin.route('/', adminApi(deps));
  admin.route('/', providerDataAdminApi(deps));
  admin.route('/', placementAdminApi(deps));
  app.route('/v1/admin', admin);

  // Keyless routes, also ahead of the tenant-key middleware: the signed body is the credential.
  const keyless = router();
  keyless.use('/feedback/*', refuseUnsafeStrings);
  keyless.route('/feedback', providerFeedbackApi(deps));
  app.route('/v1', keyless);

  const v1 = router<ApiEnv>();
  v1.use(
    tenantAuth(deps.db, caches.tenantByKeyHash, {
      onError: opts.onError,
      unknownKeysPerMinute: deps.unknownKeysPerMinute,
      clientAddress: clientAddressOf(deps.trustedProxies),
    }),
  );
  v1.use((c, next) => (isBatch(c) ? batchLimit(c, next) : next()));
  v1.use(refuseUnsafeStrings);
  // Every process, whatever its listener: a tenant with registered certificates is refused without one.
  v1.use(clientCertBinding(deps.db));
  v1.use(rateLimit(deps.db, deps.rateLimits));
  v1.route('/users', scoped('send', privacyApi(deps)));
  v1.route('/users', scoped('send', usersApi(deps)));
  v1.route('/users', scoped('send', preferenceLinkApi(deps)));
  v1.route('/suppressions', scoped('send', suppressionsApi(deps)));
  v1.route('/notifications', scoped('send', notificationsApi({ ...deps, caches })));
  v1.route('/webhook', scoped('manage', statusWebhookApi(deps)));
  v1.route('/api-keys', scoped('manage', apiKeysApi(deps)));
  v1.route('/push-credentials', scoped('manage', pushCredentialsApi(deps)));
  v1.route('/sending-domains', scoped('manage', sendingDomainsApi(deps)));
  v1.route('/sending-domains', scoped('manage', dmarcApi(deps)));
  v1.route('/categories', scoped('manage', categoriesApi({ ...deps, caches })));
  v1.route('/notification-types', scoped('manage', notificationTypesApi({ ...deps, caches })));
  v1.route('/test-recipients', scoped('manage', testRecipientsApi({ ...deps, caches })));
  v1.route('/layouts', scoped('manage', layoutsApi({ ...deps, caches })));
  app.route('/v1', v1);
  return app;
}

export type Api = ReturnType<typeof createApi>;
