import { and, asc, eq, gte, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { deliveryDaily } from '../../db/schema.js';

// Reads of the daily delivery rollup (db/schema-rollups.ts, kept by triggers): per day, per
// tenant and per provider, over a range of UTC days. Never a scan of the notifications.

export const deliveryMeasures = ['sent', 'delivered', 'deferred', 'bounced', 'complained', 'suppressed'] as const;
export type DeliveryMeasure = (typeof deliveryMeasures)[number];
export type DeliveryCounts = Record<DeliveryMeasure, number>;

export interface DeliveryRange {
  /** First and last UTC day, YYYY-MM-DD, both included. */
  from: string;
  to: string;
  tenantId?: string;
  provider?: string;
}

const sums = Object.fromEntries(deliveryMeasures.map((m) => [m, sql<number>`coalesce(sum(${deliveryDaily[m]}), 0)::int`])) as Record<
  DeliveryMeasure,
  SQL<number>
>;

function where(r: DeliveryRange) {
  return and(
    gte(deliveryDaily.day, r.from),
    lte(deliveryDaily.day, r.to),
    r.tenantId ? eq(deliveryDaily.tenantId, r.tenantId) : undefined,
    r.provider ? eq(deliveryDaily.provider, r.provider) : undefined,
  );
}

/** Counts per day (only days with any), per tenant and per provider, over the range. */
export async function deliveryCounts(db: Db, r: DeliveryRange) {
  const [byDay, byTenant, byProvider] = await Promise.all([
    db
      .select({ key: deliveryDaily.day, ...sums })
      .from(deliveryDaily)
      .where(where(r))
      .groupBy(deliveryDaily.day)
      .orderBy(asc(deliveryDaily.day)),
    db
      .select({ key: deliveryDaily.tenantId, ...sums })
      .from(deliveryDaily)
      .where(where(r))
      .groupBy(deliveryDaily.tenantId)
      .orderBy(asc(deliveryDaily.tenantId)),
    db
      .select({ key: deliveryDaily.provider, ...sums })
      .from(deliveryDaily)
      .where(where(r))
      .groupBy(deliveryDaily.provider)
      .orderBy(asc(deliveryDaily.provider)),
  ]);
  return { byDay, byTenant, byProvider };
}

/** The tenants and providers that have counts in the range, for the page's filters. */
export async function deliveryDimensions(db: Db, r: Pick<DeliveryRange, 'from' | 'to'>): Promise<{ tenants: string[]; providers: string[] }> {
  const [t, p] = await Promise.all([
    db.selectDistinct({ v: deliveryDaily.tenantId }).from(deliveryDaily).where(where(r)).orderBy(asc(deliveryDaily.tenantId)),
    db.selectDistinct({ v: deliveryDaily.provider }).from(deliveryDaily).where(where(r)).orderBy(asc(deliveryDaily.provider)),
  ]);
  return { tenants: t.map((x) => x.v), providers: p.map((x) => x.v) };
}
