import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db } from '../../db/client.js';
import { raiseAlarm, resolveAlarm, type Severity } from './alarms.js';
import { defaultMonitoring, type MonitoringSettings } from './settings.js';
import { trimSlots } from '../pool/slots.js';
import { holdTenant } from '../tenancy/tenants.js';

export interface RateRow {
  /** "provider:<name>", "ip:<address>" or "tenant:<id>". */
  scope: string;
  delivered: number;
  deferred: number;
  failed: number;
  bounced: number;
  complaints: number;
  rates: { complaint: number; bounce: number; deferral: number };
}

export interface MonitorReport {
  windowMinutes: number;
  rows: RateRow[];
  newAlarms: string[];
}

type Metric = keyof RateRow['rates'];

// The two dimensions rates are computed for; provider falls back to the recipient domain until
// an attempt carries a classified provider.
// Per tenant too: a tenant whose complaint rate reaches the alarm threshold is put on hold.
const dimensions = {
  provider: {
    attempts: sql.raw(`coalesce(provider, target, 'unknown')`),
    from: sql.raw('delivery_attempts'),
    feedback: sql.raw(`coalesce(provider, 'unknown')`),
  },
  ip: {
    attempts: sql.raw(`coalesce(source_ip, 'unknown')`),
    from: sql.raw('delivery_attempts'),
    feedback: sql.raw(`coalesce(source_ip, 'unknown')`),
  },
  tenant: {
    attempts: sql.raw('notifications.tenant_id'),
    from: sql.raw('delivery_attempts join notifications on notifications.id = delivery_attempts.notification_id'),
    feedback: sql.raw('tenant_id'),
  },
} as const;

export function severityOf(rate: number, t: { warn: number; alarm: number }): Severity | null {
  return rate >= t.alarm ? 'alarm' : rate >= t.warn ? 'warn' : null;
}

/**
 * Delivered, deferred, bounced and complaint rates per provider and per IP over the recent
 * window; a rate over its threshold opens (or escalates) an alarm, one back under closes it.
 */
export async function monitorDeliveryRates({
  db,
  monitoring = defaultMonitoring,
  logger,
}: {
  db: Db;
  monitoring?: MonitoringSettings;
  logger: Logger;
}): Promise<MonitorReport> {
  // Housekeeping on the same schedule: send slots older than three days are only history.
  await trimSlots(db, Date.now());
  const { minutes, minVolume } = monitoring.window;
  const rows: RateRow[] = [];
  for (const [name, dim] of Object.entries(dimensions)) {
    const since = sql`now() - make_interval(mins => ${minutes})`;
    const attempts = await db.execute<{ key: string; accepted: number; deferred: number; failed: number }>(sql`
      select ${dim.attempts} as key,
             (count(*) filter (where outcome = 'accepted'))::int as accepted,
             (count(*) filter (where outcome = 'deferred'))::int as deferred,
             (count(*) filter (where outcome = 'failed'))::int as failed
        from ${dim.from} where channel = 'email' and finished_at > ${since} group by 1`);
    const feedback = await db.execute<{ key: string; bounced: number; complaints: number }>(sql`
      select ${dim.feedback} as key,
             (count(*) filter (where kind = 'bounce' and bounce_type = 'hard'))::int as bounced,
             (count(*) filter (where kind = 'complaint'))::int as complaints
        from feedback_events where received_at > ${since} group by 1`);
    const fb = new Map([...feedback].map((r) => [r.key, r]));
    for (const a of attempts) {
      const f = fb.get(a.key);
      const bounced = (f?.bounced ?? 0) + a.failed;
      const complaints = f?.complaints ?? 0;
      const sent = a.accepted + a.failed;
      rows.push({
        scope: `${name}:${a.key}`,
        delivered: a.accepted,
        deferred: a.deferred,
        failed: a.failed,
        bounced,
        complaints,
        rates: {
          complaint: a.accepted > 0 ? complaints / a.accepted : 0,
          bounce: sent > 0 ? bounced / sent : 0,
          deferral: sent + a.deferred > 0 ? a.deferred / (sent + a.deferred) : 0,
        },
      });
    }
  }
  const newAlarms: string[] = [];
  for (const row of rows) {
    // Below the minimum volume a single event would swing the rate: no verdict either way.
    if (row.delivered + row.failed + row.deferred < minVolume) continue;
    for (const metric of Object.keys(row.rates) as Metric[]) {
      const id = await judge(db, monitoring, row, metric);
      if (id) newAlarms.push(id);
      // The iConneqt rule: a tenant that spams loses sending until an operator reinstates it.
      if (metric === 'complaint' && row.scope.startsWith('tenant:') && severityOf(row.rates.complaint, monitoring.thresholds.complaint) === 'alarm') {
        const tenantId = row.scope.slice('tenant:'.length);
        const held = await holdTenant(
          db,
          tenantId,
          `complaint rate ${(row.rates.complaint * 100).toFixed(2)}% over the last ${minutes} min reached the alarm threshold`,
        );
        if (held) newAlarms.push(held);
      }
    }
  }
  if (newAlarms.length) logger.warn({ newAlarms: newAlarms.length }, 'delivery monitor raised alarms');
  return { windowMinutes: minutes, rows, newAlarms };
}

async function judge(db: Db, monitoring: MonitoringSettings, row: RateRow, metric: Metric): Promise<string | null> {
  const rate = row.rates[metric];
  const threshold = monitoring.thresholds[metric];
  const kind = `rate.${metric}`;
  const severity = severityOf(rate, threshold);
  if (!severity) {
    await resolveAlarm(db, kind, row.scope);
    return null;
  }
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  return raiseAlarm(db, {
    kind,
    scope: row.scope,
    severity,
    message: `${metric} rate ${pct(rate)} for ${row.scope} over the last ${monitoring.window.minutes} min (${severity} at ${pct(threshold[severity])})`,
    detail: { ...row, metric, rate, threshold },
  });
}
