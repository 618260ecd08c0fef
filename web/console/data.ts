import { and, asc, desc, eq, ilike, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { alarms, apiKeys, auditEvents, deliveryAttempts, sendingIps, notifications, sendingDomains, suppressions, tenants } from '../../db/schema.js';
import type { ProviderRules } from '../../domain/pool/rules.js';
import { loadIpStatus } from '../../domain/pool/ip-status.js';
import type { Series } from './chart.js';

// What the console reads straight from Postgres (the admin JSON API serves the IP states).

export async function tenantRows(db: Db) {
  const [rows, keys, domains] = await Promise.all([
    db.select().from(tenants).orderBy(asc(tenants.id)),
    db
      .select({ tenantId: apiKeys.tenantId, prefix: apiKeys.prefix, name: apiKeys.name, scopes: apiKeys.scopes, revokedAt: apiKeys.revokedAt })
      .from(apiKeys),
    db
      .select({
        tenantId: sendingDomains.tenantId,
        domain: sendingDomains.domain,
        selector: sendingDomains.dkimSelector,
        status: sendingDomains.status,
        lastCheckedAt: sendingDomains.lastCheckedAt,
      })
      .from(sendingDomains),
  ]);
  return rows.map((t) => ({
    ...t,
    keys: keys.filter((k) => k.tenantId === t.id).map((k) => ({ prefix: k.prefix, name: k.name, scopes: k.scopes, active: !k.revokedAt })),
    domains: domains.filter((d) => d.tenantId === t.id),
  }));
}

/** Points of the 7-day score chart: every 6 hours. */
const HISTORY_STEP_MS = 6 * 3_600_000;
const HISTORY_MS = 7 * 24 * 3_600_000;

/** Each IP's score per provider over the last 7 days, recomputed from the recorded outcomes at each point. */
export async function scoreHistory(
  db: Db,
  rules: ProviderRules,
  now = Date.now(),
): Promise<{ from: number; to: number; byIp: Map<string, Series[]> }> {
  const sources = await db.select().from(sendingIps).orderBy(asc(sendingIps.id));
  const from = now - HISTORY_MS;
  const byIp = new Map<string, Map<string, Series>>();
  for (let at = from; at <= now; at += HISTORY_STEP_MS) {
    const statuses = await loadIpStatus(db, rules, sources, at);
    for (const s of statuses) {
      const series = byIp.get(s.id) ?? new Map<string, Series>();
      byIp.set(s.id, series);
      for (const [provider, score] of Object.entries({ all: s.overall, ...s.byProvider })) {
        const line = series.get(provider) ?? { provider, points: [] };
        series.set(provider, line);
        line.points.push({ at, score: score.score });
      }
    }
  }
  return { from, to: now, byIp: new Map([...byIp].map(([id, m]) => [id, [...m.values()]])) };
}

export function openAlarms(db: Db) {
  return db.select().from(alarms).where(isNull(alarms.resolvedAt)).orderBy(desc(alarms.raisedAt)).limit(100);
}

export async function acknowledgeAlarm(db: Db, id: string): Promise<boolean> {
  const rows = await db
    .update(alarms)
    .set({ acknowledgedAt: new Date() })
    .where(and(eq(alarms.id, id), isNull(alarms.acknowledgedAt)))
    .returning({ id: alarms.id, scope: alarms.scope, kind: alarms.kind });
  if (rows[0])
    await db
      .insert(auditEvents)
      .values({ tenantId: '*', step: 'alarm.acknowledged', detail: { alarmId: id, kind: rows[0].kind, scope: rows[0].scope, by: 'operator' } });
  return rows.length > 0;
}

/** Suppressed addresses containing `q` (case-insensitive), any tenant. */
export function searchSuppressions(db: Db, q: string) {
  const pattern = `%${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  return db.select().from(suppressions).where(ilike(suppressions.email, pattern)).orderBy(desc(suppressions.createdAt)).limit(50);
}

export async function lookupNotification(db: Db, id: string) {
  const [n] = await db.select().from(notifications).where(eq(notifications.id, id));
  if (!n) return undefined;
  const [attempts, audit] = await Promise.all([
    db.select().from(deliveryAttempts).where(eq(deliveryAttempts.notificationId, id)).orderBy(asc(deliveryAttempts.startedAt)),
    db.select().from(auditEvents).where(eq(auditEvents.notificationId, id)).orderBy(asc(auditEvents.at), asc(auditEvents.id)),
  ]);
  return { n, attempts, audit };
}

export const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
