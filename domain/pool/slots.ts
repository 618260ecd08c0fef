// Send slots counted in Postgres under a per-IP advisory lock, so connection, rate and
// warm-up limits hold for all worker processes together. A slot counts in the rate window
// until `perMs` after its SMTP transaction ended: however long a send takes, the receiver
// never sees more than `count` messages from one IP in any window of `perMs`.
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import type { RateLimit } from './rules.js';
import type { WarmupDay } from './warmup.js';

/** A slot still open after this long belongs to a crashed worker and stops counting. */
const STALE_MS = 2 * 60_000;

export interface SlotRequest {
  ipId: string;
  provider: string;
  now: number;
  connections: number;
  rate: RateLimit;
  warmup: WarmupDay | null;
}

export type SlotResult =
  { ok: true; reservationId: number } | { ok: false; retryAt: number; reason: 'suspended' | 'connections' | 'rate' | 'warmup-cap' };

const ts = (ms: number) => new Date(ms).toISOString();

export async function reserveSlot(db: Db, req: SlotRequest): Promise<SlotResult> {
  const { ipId, provider, now } = req;
  const windowStart = now - req.rate.perMs;
  const dayStart = req.warmup?.dayStart ?? now;
  // Lock, check suspension, count and insert in one round trip (db/migrations/0005 and 0006); the
  // function looks back STALE_MS before the window for slots still in flight.
  const [row] = (await db.execute(sql`
    select * from reserve_send_slot(${ipId}, ${provider}, ${ts(now)}::timestamptz, ${ts(windowStart)}::timestamptz,
      ${ts(now - STALE_MS)}::timestamptz, ${ts(dayStart)}::timestamptz, ${req.connections}::int, ${req.rate.count}::int, ${req.warmup?.cap ?? null}::int)
  `)) as unknown as {
    reservation_id: string | number | null;
    inflight: number;
    in_window: number;
    oldest_release: number | null;
    today: number;
    suspended_until: number | null;
  }[];
  const r = row!;
  if (r.reservation_id !== null) return { ok: true, reservationId: Number(r.reservation_id) };
  // Suspended since the caller read the IP's status (a provider rule fired meanwhile).
  if (r.suspended_until !== null) return { ok: false, retryAt: r.suspended_until, reason: 'suspended' };
  if (req.warmup && r.today >= req.warmup.cap) return { ok: false, retryAt: req.warmup.dayEnd, reason: 'warmup-cap' };
  if (r.inflight >= req.connections) return { ok: false, retryAt: now + 250, reason: 'connections' };
  return { ok: false, retryAt: r.oldest_release !== null ? r.oldest_release + req.rate.perMs + 1 : now + 500, reason: 'rate' };
}

/** Ends a slot's SMTP transaction, as a statement for the caller's own write; from then on it counts only in the rate window. */
export function releaseSlotSql(reservationId: number, now: number) {
  return sql`update send_reservations set released_at = ${ts(now)}::timestamptz where id = ${reservationId}`;
}

/** Old slots are only history: trimmed now and then (by the delivery monitor), not on every send. */
export async function trimSlots(db: Db, now: number): Promise<void> {
  await db.execute(sql`delete from send_reservations where reserved_at < ${ts(now - 3 * 86_400_000)}::timestamptz`);
}
