import { and, eq, notInArray, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { appendAudit } from '../domain/audit/append.js';
import { categories, preferences, pushDevices, users } from '../db/schema.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { problems } from './problem.js';
import { PreferencesBody, UserIdParam, UserProfile } from './schemas.js';
import type { PreferencesView, UserView } from './schemas.js';
import { jsonBody, parseWith } from './validate.js';
import type { z } from 'zod';

/** End users of a tenant: profile, device tokens and channel preferences. */
export function usersApi({ db }: ApiDeps) {
  const app = new Hono<ApiEnv>();

  const findUser = async (tenantId: string, externalId: string) => {
    const [user] = await db.select().from(users).where(and(eq(users.tenantId, tenantId), eq(users.externalId, externalId)));
    if (!user) throw problems.notFound(`User '${externalId}' does not exist`);
    return user;
  };

  const view = async (user: typeof users.$inferSelect): Promise<z.infer<typeof UserView>> => {
    const [{ n } = { n: 0 }] = await db.select({ n: sql<number>`count(*)::int` }).from(pushDevices).where(eq(pushDevices.userId, user.id));
    return { userId: user.externalId, email: user.email, locale: user.locale, timezone: user.timezone, pushDevices: n };
  };

  app.put('/:userId', async (c) => {
    const tenantId = c.var.tenantId;
    const externalId = parseWith(UserIdParam, c.req.param('userId'), 'path.userId');
    const body = await jsonBody(c, UserProfile);
    const tokens = [...new Set(body.pushTokens)];
    const { user, created } = await db.transaction(async (tx) => {
      const values = { tenantId, externalId, email: body.email ?? null, locale: body.locale, timezone: body.timezone, updatedAt: new Date() };
      const [row] = await tx
        .insert(users)
        .values(values)
        .onConflictDoUpdate({ target: [users.tenantId, users.externalId], set: values })
        .returning({ id: users.id, created: sql<boolean>`xmax = 0` });
      const userId = row!.id;
      // The token list replaces the user's devices.
      await tx.delete(pushDevices).where(tokens.length ? and(eq(pushDevices.userId, userId), notInArray(pushDevices.token, tokens)) : eq(pushDevices.userId, userId));
      if (tokens.length) await tx.insert(pushDevices).values(tokens.map((token) => ({ userId, token }))).onConflictDoNothing();
      await appendAudit(tx, { tenantId, step: row!.created ? 'user.created' : 'user.updated', detail: { userId: externalId, pushDevices: tokens.length } });
      const [user] = await tx.select().from(users).where(eq(users.id, userId));
      return { user: user!, created: row!.created };
    });
    return c.json(await view(user), created ? 201 : 200);
  });

  app.get('/:userId', async (c) => {
    const user = await findUser(c.var.tenantId, c.req.param('userId'));
    return c.json(await view(user));
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
      };
    }
    return { categories: result };
  };

  app.get('/:userId/preferences', async (c) => {
    const user = await findUser(c.var.tenantId, c.req.param('userId'));
    return c.json(await preferencesView(c.var.tenantId, user.id));
  });

  app.put('/:userId/preferences', async (c) => {
    const tenantId = c.var.tenantId;
    const body = await jsonBody(c, PreferencesBody);
    const user = await findUser(tenantId, c.req.param('userId'));
    const cats = await db.select().from(categories).where(eq(categories.tenantId, tenantId));
    const errors: { path: string; message: string }[] = [];
    for (const [key, channels] of Object.entries(body.categories)) {
      const cat = cats.find((x) => x.key === key);
      if (!cat) errors.push({ path: `body.categories.${key}`, message: `unknown category; known: ${cats.map((x) => x.key).join(', ')}` });
      else if (cat.mandatory && channels.length === 0) errors.push({ path: `body.categories.${key}`, message: `${key} alerts are mandatory: choose at least one channel` });
    }
    if (errors.length) throw problems.invalid(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
    await db.transaction(async (tx) => {
      for (const [key, channels] of Object.entries(body.categories)) {
        const cat = cats.find((x) => x.key === key)!;
        // For an opt-in category, choosing a channel is the recorded opt-in; choosing none withdraws it.
        const optedInAt = cat.requiresOptIn && channels.length > 0 ? sql`coalesce(${preferences.optedInAt}, now())` : null;
        await tx
          .insert(preferences)
          .values({ userId: user.id, categoryKey: key, channels, optedInAt: cat.requiresOptIn && channels.length > 0 ? new Date() : null })
          .onConflictDoUpdate({ target: [preferences.userId, preferences.categoryKey], set: { channels, optedInAt, updatedAt: new Date() } });
      }
      await appendAudit(tx, { tenantId, step: 'preferences.updated', detail: { userId: user.externalId, categories: body.categories } });
    });
    return c.json(await preferencesView(tenantId, user.id));
  });

  return app;
}
