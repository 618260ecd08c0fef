import { createRoute, z } from '@hono/zod-openapi';
import { isConfirmedTestRecipient } from '../domain/test-sends/recipients.js';
import { previewVersion } from '../domain/templates/preview.js';
import { getType, listTypes, putType } from '../domain/templates/types.js';
import { createVersion, getVersion, listVersions, publishVersion, spamGate } from '../domain/templates/versions.js';
import type { ApiEnv, AppDeps } from './env.js';
import type { MiddlewareHandler } from 'hono';
import { BODY_PROBLEMS, jsonBody, jsonResponse, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { problems } from './problem.js';
import { checkTestMail, queueTestMail } from './test-mail.js';
import {
  PreviewBody,
  PreviewView,
  PublishBody,
  Published,
  TestSendAccepted,
  TestSendBody,
  TypeBody,
  TypeKey,
  TypeView,
  VersionBody,
  VersionCreated,
  VersionList,
  VersionView,
} from './template-schemas.js';

/** For routes whose body is optional: an empty body sent as JSON counts as `{}`; anything else must be JSON (whitespace alone is not). */
const emptyBodyIsEmptyObject: MiddlewareHandler = async (c, next) => {
  // Read through Hono's body cache: earlier middleware may have consumed the stream already.
  if ((await c.req.text()) === '') {
    const headers = new Headers(c.req.raw.headers);
    headers.set('content-type', 'application/json');
    c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers, body: '{}' });
    c.req.bodyCache = {};
  }
  await next();
};

const typeParam = z.object({ type: TypeKey });
const versionParam = z.object({ type: TypeKey, n: z.coerce.number().int().positive().max(2_147_483_647) });

const routes = {
  list: createRoute({
    method: 'get',
    path: '/',
    summary: "The tenant's notification types",
    responses: { 200: jsonResponse(z.object({ types: z.array(TypeView) }), 'Types'), ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS) },
  }),
  get: createRoute({
    method: 'get',
    path: '/{type}',
    summary: 'One notification type',
    request: { params: typeParam },
    responses: { 200: jsonResponse(TypeView, 'The type'), ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 404) },
  }),
  put: createRoute({
    method: 'put',
    path: '/{type}',
    summary: "Create or replace a type's category and variables",
    request: { params: typeParam, body: jsonBody(TypeBody) },
    responses: {
      200: jsonResponse(TypeView, 'Replaced'),
      201: jsonResponse(TypeView, 'Created'),
      ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS),
    },
  }),
  versions: createRoute({
    method: 'get',
    path: '/{type}/versions',
    summary: 'Versions with status and publication time',
    request: { params: typeParam },
    responses: { 200: jsonResponse(VersionList, 'Versions, newest first'), ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 404) },
  }),
  createVersion: createRoute({
    method: 'post',
    path: '/{type}/versions',
    summary: 'Create an immutable version (draft): checked for MJML errors, undeclared variables, missing channels, spam',
    request: { params: typeParam, body: jsonBody(VersionBody) },
    responses: { 201: jsonResponse(VersionCreated, 'Created as draft'), ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 404, 409) },
  }),
  version: createRoute({
    method: 'get',
    path: '/{type}/versions/{n}',
    summary: "One version's content",
    request: { params: versionParam },
    responses: { 200: jsonResponse(VersionView, 'The version'), ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 404) },
  }),
  publish: createRoute({
    method: 'post',
    path: '/{type}/versions/{n}/publish',
    summary: 'Make version n the one that sends (an older n is the rollback)',
    middleware: [emptyBodyIsEmptyObject] as const,
    request: { params: versionParam, body: { required: false, content: { 'application/json': { schema: PublishBody } } } },
    responses: { 200: jsonResponse(Published, 'Published'), ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 404, 409) },
  }),
  preview: createRoute({
    method: 'post',
    path: '/{type}/preview',
    summary: 'Render a version for a locale and data, with its spam check',
    request: { params: typeParam, body: jsonBody(PreviewBody) },
    responses: { 200: jsonResponse(PreviewView, 'The rendered message'), ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 404) },
  }),
  testSend: createRoute({
    method: 'post',
    path: '/{type}/test-send',
    summary:
      'Send a version as a test ([TEST] subject, X-Notiflow-Test header) to a confirmed test recipient, from the verified domain through the tenant pool; counts as a notification and towards the daily test cap',
    request: { params: typeParam, body: jsonBody(TestSendBody) },
    responses: {
      202: jsonResponse(TestSendAccepted, 'Accepted for sending'),
      ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 404, 409, 503),
    },
  }),
};

/** Notification types, their immutable versions, publishing, preview and test sends. */
export function notificationTypesApi(deps: AppDeps) {
  const { db, caches } = deps;
  const settings = { spamd: deps.spamd };
  const app = router<ApiEnv>();

  app.openapi(routes.list, async (c) => c.json({ types: await listTypes(db, c.var.tenantId) }, 200));
  app.openapi(routes.get, async (c) => {
    const found = await getType(db, c.var.tenantId, c.req.valid('param').type);
    if (!found) throw problems.notFound(`Notification type '${c.req.valid('param').type}' does not exist`);
    return c.json(found, 200);
  });
  app.openapi(routes.put, async (c) => {
    const { type, created } = await putType(db, c.var.tenantId, c.req.valid('param').type, c.req.valid('json'));
    caches.typesByTenant.delete(c.var.tenantId);
    return created ? c.json(type, 201) : c.json(type, 200);
  });
  app.openapi(routes.versions, async (c) => {
    const { type } = c.req.valid('param');
    const versions = await listVersions(db, c.var.tenantId, type);
    return c.json({ type, publishedVersion: versions.find((v) => v.status === 'published')?.version ?? null, versions }, 200);
  });
  app.openapi(routes.createVersion, async (c) => {
    const created = await createVersion(db, c.var.tenantId, c.req.valid('param').type, c.req.valid('json'), settings);
    return c.json(created, 201);
  });
  app.openapi(routes.version, async (c) => {
    const { type, n } = c.req.valid('param');
    return c.json(await getVersion(db, c.var.tenantId, type, n), 200);
  });
  app.openapi(routes.publish, async (c) => {
    const { type, n } = c.req.valid('param');
    const body = (c.req.valid('json') as { force?: boolean } | undefined) ?? {};
    const published = await publishVersion(db, c.var.tenantId, type, n, body.force ?? false);
    return c.json({ type, status: 'published' as const, ...published }, 200);
  });
  app.openapi(routes.preview, async (c) => {
    const preview = await previewVersion(db, c.var.tenantId, c.req.valid('param').type, c.req.valid('json'), settings);
    return c.json(preview, 200);
  });
  app.openapi(routes.testSend, async (c) => {
    const tenantId = c.var.tenantId;
    const { type } = c.req.valid('param');
    const { to, force, ...req } = c.req.valid('json');
    // Only to an address whose reader confirmed it, and only what a notification could send.
    if (!(await isConfirmedTestRecipient(db, tenantId, to)))
      throw problems.invalid(
        'The address is not a confirmed test recipient of this tenant: add it with POST /v1/test-recipients and confirm its code',
        [{ path: 'body.to', message: 'not a confirmed test recipient' }],
      );
    await checkTestMail(deps, tenantId, to, 'body.to');
    const preview = await previewVersion(db, tenantId, type, req, settings);
    if (!preview.email)
      throw problems.invalid(`Version ${preview.version} of '${type}' has no e-mail content to send`, [
        { path: 'body.version', message: 'no e-mail content' },
      ]);
    const forced = spamGate(preview.spam, `Version ${preview.version} (rendered with this data)`, 'send the test', force);
    const id = await queueTestMail(
      c,
      deps,
      {
        purpose: 'template',
        typeKey: type,
        version: preview.version,
        to,
        subject: preview.email.subject,
        html: preview.email.html,
        text: preview.email.text,
      },
      {
        step: 'template.test_requested',
        detail: { type, version: preview.version, locale: preview.email.locale, forced, spamScore: preview.spam.score },
      },
    );
    return c.json({ id, version: preview.version, status: 'accepted' }, 202);
  });
  return app;
}
