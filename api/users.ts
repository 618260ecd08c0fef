import { createRoute, z } from '@hono/zod-openapi';
import { frequencyErrors, saveFrequency } from '../domain/preferences/frequency.js';
import { and, eq, notInArray, sql } from 'drizzle-orm';
import { appendAudit } from '../domain/audit/append.js';
import { preferenceChangeErrors, recordPreferenceChange } from '../domain/privacy/consent.js';
import { restoreErasedSuppression } from '../domain/privacy/suppression-hash.js';
import { categories, preferences, pushDevices, quietHours, users } from '../db/schema.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { BODY_PROBLEMS, jsonBody, jsonResponse, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { problems } from './problem.js';
import { PreferencesBody, PreferencesView, UserIdParam, UserProfile, UserView } from './schemas.js';

/** Reads look the id up as given (an id that cannot exist is simply not found); writes check its form. */
const anyUser = z.object({ userId: z.string().describe('The user id the tenant chose') });

const putUser = createRoute({
  method: 'put',
  path: '/{userId}',
  summary: 'Create or replace a user profile',
  request: { params: z.object({ userId: UserIdParam }), body: jsonBody(UserProfile) },
  responses: {
    200: jsonResponse(UserView, 'Updated'),
    201: jsonResponse(UserView, 'Created'),
    ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS),
  },
});
const getUser = createRoute({
  method: 'get',
  path: '/{userId}',
  summary: 'Read a user profile',
  request: { params: anyUser },
  responses: { 200: jsonResponse(UserView, 'The user'), ...problemResponses(...TENANT_PROBLEMS, 404) },
});
const getPreferences = createRoute({
  method: 'get',
  path: '/{userId}/preferences',
  summary: 'Channels per category, with their source',
  request: { params: anyUser },
  responses: { 200: jsonResponse(PreferencesView, 'Preferences'), ...problemResponses(...TENANT_PROBLEMS, 404) },
});
const putPreferences = createRoute({
  method: 'put',
  path: '/{userId}/preferences',
  summary: 'Choose channels per category',
  request: { params: anyUser, body: jsonBody(PreferencesBody) },
  responses: { 200: jsonResponse(PreferencesView, 'Preferences'), ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 404) },
});
import { revokeUnsubscribeTokens } from '../domain/feedback/unsubscribe-token.js';
import { canonicalTag } from '../templates/locale.js';
const revokeUnsubscribeLinks = createRoute({
  method: 'delete',
  path: '/{userId}/unsubscribe-links',
  summary: "Revoke the user's outstanding one-click unsubscribe links (all categories)",
  request: { params: anyUser },
  responses: {
    200: jsonResponse(z.object({ revoked: z.number().int().describe('Links that stopped working') }), 'Revoked'),
    ...problemResponses(...TENANT_PROBLEMS, 404),
  },
});

/** End users of a tenant: profile, device tokens and channel preferences. */
export function usersApi({ db, secrets }: ApiDeps) {
  const app = router<ApiEnv>();

  const findUser = async (tenantId: string, externalId: string) => {
    const [user] = await db
      .select()
      .from(users)
      .where(and(eq(users.tenantId, tenantId), eq(users.externalId, externalId)));
    if (!user) throw problems.notFound(`User '${externalId}' does not exist`);
    return user;
  };

  const view = async (user: typeof users.$inferSelect): Promise<z.infer<typeof UserView>> => {
    const [{ n } = { n: 0 }] = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(pushDevices)
      .where(eq(pushDevices.userId, user.id));
    const [quiet] = await db.select({ starts: quietHours.starts, ends: quietHours.ends }).from(quietHours).where(eq(quietHours.userId, user.id));
    return { userId: user.externalId, email: user.email, locale: user.locale, timezone: user.timezone, pushDevices: n, quietHours: quiet ?? null };
  };

  app.openapi(putUser, async (c) => {
    const tenantId = c.var.tenantId;
    const externalId = c.req.valid('param').userId;
    const body = c.req.valid('json');
    const tokens = [...new Set(body.pushTokens)];
    const { user, created } = await db.transaction(async (tx) => {
      const values = {
        tenantId,
        externalId,
        email: body.email ?? null,
        locale: canonicalTag(body.locale) ?? body.locale,
        timezone: body.timezone,
        updatedAt: new Date(),
      };
      const [row] = await tx
        .insert(users)
        .values(values)
        .onConflictDoUpdate({ target: [users.tenantId, users.externalId], set: values })
        .returning({ id: users.id, created: sql<boolean>`xmax = 0` });
      const userId = row!.id;
      // The token list replaces the user's devices.
      await tx
        .delete(pushDevices)
        .where(tokens.length ? and(eq(pushDevices.userId, userId), notInArray(pushDevices.token, tokens)) : eq(pushDevices.userId, userId));
      if (tokens.length)
        await tx
          .insert(pushDevices)
          .values(tokens.map((token) => ({ userId, token })))
          .onConflictDoNothing();
      // An address suppressed before an erasure is known only by its keyed hash: suppressed again here.
      if (body.email && secrets) await restoreErasedSuppression(tx, secrets, tenantId, body.email);
      // Quiet hours are the user's own when given; null (or absent) leaves the tenant's default.
      await tx.delete(quietHours).where(eq(quietHours.userId, userId));
      if (body.quietHours) await tx.insert(quietHours).values({ tenantId, userId, ...body.quietHours });
      await appendAudit(tx, {
        tenantId,
        step: row!.created ? 'user.created' : 'user.updated',
        detail: { userId: externalId, pushDevices: tokens.length },
      });
      const [user] = await tx.select().from(users).where(eq(users.id, userId));
      return { user: user!, created: row!.created };
    });
    return c.json(await view(user), created ? 201 : 200);
  });

  app.openapi(getUser, async (c) => {
    const user = await findUser(c.var.tenantId, c.req.valid('param').userId);
    return c.json(await view(user), 200);
  });

  const preferencesView = async (tenantId: string, userId: string): Promise<z.infer<typeof PreferencesView>> => {
    const cats = await db.select().from(categories).where(eq(categories.tenantId, tenantId));
    const prefs = await db.select().from(preferences).where(eq(preferences.userId, userId));
    const result: z.infer<typeof PreferencesView>['categories'] = {};
    for (const cat of cats) {
      const pref = prefs.find((p) => p.categoryKey === cat.key);
      result[cat.key] = {
        channels: (pref?.channels ?? cat.defaultChannels) as ('email' | 'push')[],
        source: pref ? 'user' : 'default',
        mandatory: cat.mandatory,
        requiresOptIn: cat.requiresOptIn,
        optedInAt: pref?.optedInAt?.toISOString() ?? null,
        frequency: pref?.frequency ?? null,
      };
    }
    return { categories: result };
  };

  app.openapi(getPreferences, async (c) => {
    const user = await findUser(c.var.tenantId, c.req.valid('param').userId);
    return c.json(await preferencesView(c.var.tenantId, user.id), 200);
  });

  app.openapi(putPreferences, async (c) => {
    const tenantId = c.var.tenantId;
    const body = c.req.valid('json');
    const user = await findUser(tenantId, c.req.valid('param').userId);
    const errors = (await preferenceChangeErrors(db, tenantId, body.categories)).map((e) => ({ ...e, path: `body.${e.path}` }));
    errors.push(...(await frequencyErrors(db, tenantId, body.frequency ?? {})));
    if (errors.length) throw problems.invalid(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
    // Every change is a consent-ledger record (source api); the preferences rows are its projection.
    await db.transaction(async (tx) => {
      if (Object.keys(body.categories).length || !body.frequency)
        await recordPreferenceChange(tx, {
          tenantId,
          userId: user.id,
          externalId: user.externalId,
          categories: body.categories,
          source: 'api',
          actor: body.actor ?? 'app',
          textVersion: body.textVersion,
        });
      if (body.frequency) await saveFrequency(tx, tenantId, user.id, body.frequency);
    });
    return c.json(await preferencesView(tenantId, user.id), 200);
  });

  app.openapi(revokeUnsubscribeLinks, async (c) => {
    const user = await findUser(c.var.tenantId, c.req.valid('param').userId);
    const revoked = await revokeUnsubscribeTokens(db, user.id);
    await appendAudit(db, { tenantId: c.var.tenantId, step: 'unsubscribe-links.revoked', detail: { userId: user.externalId, revoked } });
    return c.json({ revoked }, 200);
  });

  return app;
}
