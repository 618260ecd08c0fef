import { createRoute, z } from '@hono/zod-openapi';
import { eraseUser } from '../domain/privacy/erasure.js';
import { exportUser } from '../domain/privacy/export.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { jsonResponse, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { problems } from './problem.js';
import { UserIdParam } from './schemas.js';

const Params = z.object({ userId: UserIdParam });
const Detail = z.record(z.string(), z.unknown());
const ts = z.string().openapi({ format: 'date-time' });

const UserExport = z
  .object({
    exportedAt: ts,
    user: z.object({ userId: z.string(), email: z.string().nullable(), locale: z.string(), timezone: z.string(), createdAt: ts, updatedAt: ts }),
    devices: z.array(z.object({ id: z.string(), token: z.string().openapi({ description: 'masked' }), createdAt: ts })),
    preferences: z.array(z.object({ category: z.string(), channels: z.array(z.string()), optedInAt: ts.nullable(), updatedAt: ts })),
    consentHistory: z.array(
      z.object({
        category: z.string(),
        channels: z.array(z.string()),
        action: z.string(),
        source: z.string(),
        actor: z.string(),
        textVersion: z.string().nullable(),
        at: ts,
      }),
    ),
    suppressions: z.array(z.object({ reason: z.string(), source: z.string(), createdAt: ts })),
    notifications: z.array(
      z.object({
        id: z.string(),
        type: z.string(),
        category: z.string(),
        status: z.string(),
        channels: z.array(z.string()),
        deliveredChannels: z.array(z.string()),
        data: Detail,
        error: z.string().nullable(),
        createdAt: ts,
        updatedAt: ts,
        rendered: z.array(z.object({ channel: z.string(), locale: z.string(), subject: z.string(), text: z.string(), html: z.string().nullable() })),
        attempts: z.array(
          z.object({
            channel: z.string(),
            attempt: z.number().int(),
            outcome: z.string(),
            target: z.string().nullable(),
            provider: z.string().nullable(),
            sourceIp: z.string().nullable(),
            responseCode: z.number().int().nullable(),
            response: z.string().nullable(),
            startedAt: ts,
            finishedAt: ts,
          }),
        ),
        feedback: z.array(
          z.object({
            kind: z.string(),
            bounceType: z.string().nullable(),
            class: z.string().nullable(),
            status: z.string().nullable(),
            diagnostic: z.string().nullable(),
            source: z.string(),
            receivedAt: ts,
          }),
        ),
        audit: z.array(z.object({ at: ts, step: z.string(), detail: Detail })),
      }),
    ),
    audit: z.array(z.object({ at: ts, step: z.string(), detail: Detail })),
  })
  .openapi('UserExport');

const Erasure = z
  .object({
    erased: z.literal(true),
    notifications: z.number().int().openapi({ description: 'Notification rows kept as pseudonymous facts' }),
    cancelled: z.number().int().openapi({ description: 'Running notifications ended without sending' }),
    suppressionsKeptAsHash: z.number().int(),
  })
  .openapi('UserErasure');

/** GDPR export (arts. 15, 20) and erasure (art. 17) of one user of the tenant. */
export function privacyApi({ db, temporal, secrets }: ApiDeps) {
  const app = router<ApiEnv>();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{userId}/export',
      summary:
        'Everything held about a user: profile, devices (tokens masked), preferences and consent history, notifications with content, attempts, feedback and audit',
      request: { params: Params },
      responses: { 200: jsonResponse(UserExport, 'The export document'), ...problemResponses(...TENANT_PROBLEMS, 404, 422) },
    }),
    async (c) => {
      const { userId } = c.req.valid('param');
      const doc = await exportUser(db, c.var.tenantId, userId);
      if (!doc) throw problems.notFound(`User '${userId}' does not exist`);
      return c.json(doc, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/{userId}',
      summary: "Erase a user's personal data; notifications stay as pseudonymous facts, a suppressed address stays suppressed as a keyed hash",
      request: { params: Params },
      responses: {
        200: jsonResponse(Erasure, 'Erased; running notifications ended without sending'),
        ...problemResponses(...TENANT_PROBLEMS, 404, 422, 503),
      },
    }),
    async (c) => {
      const { userId } = c.req.valid('param');
      if (!secrets) throw problems.unavailable('SECRET_KEY is not configured: suppressed addresses could not be kept as keyed hashes');
      const result = await eraseUser(db, secrets, c.var.tenantId, userId);
      if (!result) throw problems.notFound(`User '${userId}' does not exist`);
      // Their rows say cancelled already; the workflows end now, and a send still in flight finds no address or token.
      await Promise.all(
        result.runningWorkflowIds.map((id) =>
          temporal.workflow
            .getHandle(id)
            .terminate('user erased')
            .catch(() => undefined),
        ),
      );
      return c.json(
        {
          erased: true as const,
          notifications: result.notifications,
          cancelled: result.runningWorkflowIds.length,
          suppressionsKeptAsHash: result.suppressionsKeptAsHash,
        },
        200,
      );
    },
  );
  return app;
}
