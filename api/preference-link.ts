import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { users } from '../db/schema.js';
import { preferenceUrl } from '../domain/preferences/link-token.js';
import { jsonResponse, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { problems } from './problem.js';

export const PreferenceLink = z
  .object({
    url: z.string().url().describe('The hosted preference page for this user; whoever holds it can change their preferences'),
    expiresAt: z.string().describe('When the link stops working (ISO 8601)'),
  })
  .openapi('PreferenceLink');

const createPreferenceLink = createRoute({
  method: 'post',
  path: '/{userId}/preference-link',
  summary: 'A signed link, valid 7 days, to the hosted preference centre for a user',
  request: { params: z.object({ userId: z.string().describe('The user id the tenant chose') }) },
  responses: { 201: jsonResponse(PreferenceLink, 'The link'), ...problemResponses(...TENANT_PROBLEMS, 404, 503) },
});

/** POST /v1/users/{userId}/preference-link. The link uses PUBLIC_URL, else the URL the API was called on. */
export function preferenceLinkApi({ db, secrets, publicUrl }: ApiDeps) {
  const app = router<ApiEnv>();
  app.openapi(createPreferenceLink, async (c) => {
    if (!secrets) throw problems.unavailable('Preference links need the engine secret key, which this API was not given');
    const { userId } = c.req.valid('param');
    const [user] = await db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.tenantId, c.var.tenantId), eq(users.externalId, userId)));
    if (!user) throw problems.notFound(`User '${userId}' does not exist`);
    const link = preferenceUrl(secrets, publicUrl ?? new URL(c.req.url).origin, { tenantId: c.var.tenantId, userId: user.id });
    return c.json({ url: link.url, expiresAt: link.expiresAt.toISOString() }, 201);
  });
  return app;
}
