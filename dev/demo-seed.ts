import { and, eq, inArray } from 'drizzle-orm';
import { hashApiKey, type SecretBox } from '../config/secrets.js';
import type { Db } from '../db/client.js';
import { provisionTenant, upsertPool } from '../db/provision.js';
import { apiKeys, preferences, pushDevices, users } from '../db/schema.js';

export const DEMO_TENANT = 'demo-bank';
export const DEMO_DOMAIN = 'demo-bank.test';

/**
 * The demo the README shows with curl: tenant demo-bank on a shared pool of three loopback
 * source IPs that relays to the dev inbox, and three users with different preferences.
 * Keys are derived from the dev secret so they stay the same across runs.
 */
export async function seedDemo(db: Db, secrets: SecretBox, inbox: { host: string; port: number }): Promise<{ apiKey: string }> {
  await upsertPool(db, {
    id: 'dev-shared',
    name: 'Dev shared pool',
    kind: 'shared',
    relayHost: inbox.host,
    relayPort: inbox.port,
    ips: [2, 3, 4].map((n) => ({ id: `dev-ip${n - 1}`, localAddress: `127.0.0.${n}`, ehloName: `mta${n - 1}.notiflow.test` })),
  });
  const apiKey = await usableDemoKey(db, secrets);
  await provisionTenant(db, secrets, { id: DEMO_TENANT, name: 'Demo Bank', poolId: 'dev-shared', domain: DEMO_DOMAIN, apiKey });

  const people = [
    { externalId: 'alice', email: 'alice@example.fr', locale: 'fr', tokens: [], prefs: { transactions: ['email'], balance: ['email'] } },
    {
      externalId: 'bruno',
      email: 'bruno@example.de',
      locale: 'de',
      tokens: ['demo-token-bruno'],
      prefs: { transactions: ['push'], balance: ['push'] },
    },
    {
      externalId: 'chloe',
      email: 'chloe@example.nl',
      locale: 'nl',
      tokens: ['demo-token-chloe'],
      prefs: { transactions: ['email', 'push'], balance: ['email', 'push'] },
    },
  ];
  const existing = await db
    .select({ externalId: users.externalId })
    .from(users)
    .where(
      and(
        eq(users.tenantId, DEMO_TENANT),
        inArray(
          users.externalId,
          people.map((p) => p.externalId),
        ),
      ),
    );
  for (const p of people) {
    // Seed once: later runs keep whatever the user changed through the API.
    if (existing.some((e) => e.externalId === p.externalId)) continue;
    const [user] = await db
      .insert(users)
      .values({ tenantId: DEMO_TENANT, externalId: p.externalId, email: p.email, locale: p.locale, timezone: 'Europe/Paris' })
      .returning({ id: users.id });
    if (p.tokens.length) await db.insert(pushDevices).values(p.tokens.map((token) => ({ userId: user!.id, token })));
    await db.insert(preferences).values(Object.entries(p.prefs).map(([categoryKey, channels]) => ({ userId: user!.id, categoryKey, channels })));
  }
  return { apiKey };
}

/**
 * The demo key: derived from the dev secret so it stays the same across runs, but a key the demo
 * revoked (any client may revoke its own key) or let expire is skipped for the next derivation,
 * so `npm start` always prints a key that works.
 */
async function usableDemoKey(db: Db, secrets: SecretBox): Promise<string> {
  for (let generation = 0; ; generation++) {
    const key = `nf_demo_${secrets.sign('demo', generation === 0 ? 'demo-bank api key' : `demo-bank api key ${generation}`).slice(0, 32)}`;
    const [row] = await db
      .select({ revokedAt: apiKeys.revokedAt, expiresAt: apiKeys.expiresAt })
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, hashApiKey(key)));
    if (!row) return key; // new: provisionTenant registers it
    if (!row.revokedAt && (!row.expiresAt || row.expiresAt > new Date())) return key;
  }
}
