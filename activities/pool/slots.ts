// Send slots counted in Postgres under a per-source advisory lock, so connection, rate and
// warm-up limits hold for all worker processes together. A slot counts in the rate window
// until `perMs` after its SMTP transaction ended: however long a send takes, the receiver
// never sees more than `count` messages from one source in any window of `perMs`.
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import type { RateLimit } from './rules.js';
import type { WarmupDay } from './warmup.js';

/** A slot still open after this long belongs to a crashed worker and stops counting. */
const STALE_MS = 2 * 60_000;

export interface SlotRequest {
  egressId: string;
  provider: string;
  now: number;
  connections: number;
  rate: RateLimit;
  warmup: WarmupDay | null;
}

export type SlotResult = { ok: true; reservationId: number } | { ok: false; retryAt: number; reason: 'connections' | 'rate' | 'warmup-cap' };

const ts = (ms: number) => new Date(ms).toISOString();

export async function reserveSlot(db: Db, req: SlotRequest): Promise<SlotResult> {
  const { egressId, provider, now } = req;
  const windowStart = now - req.rate.perMs;
  const stale = now - STALE_MS;
  const dayStart = req.warmup?.dayStart ?? now;
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`egress-slot:${egressId}`}))`);
    const [row] = (await tx.execute(sql`
      select
        count(*) filter (where provider = ${provider} and released_at is null and reserved_at > ${ts(stale)}::timestamptz)::int as inflight,
        count(*) filter (where provider = ${provider} and ((released_at is null and reserved_at > ${ts(stale)}::timestamptz) or released_at >= ${ts(windowStart)}::timestamptz))::int as in_window,
        (extract(epoch from min(released_at) filter (where provider = ${provider} and released_at >= ${ts(windowStart)}::timestamptz)) * 1000)::float8 as oldest_release,
        count(*) filter (where reserved_at >= ${ts(dayStart)}::timestamptz)::int as today
      from send_reservations
      where egress_id = ${egressId}
        and reserved_at >= ${ts(Math.min(windowStart, dayStart) - STALE_MS)}::timestamptz
    `)) as unknown as { inflight: number; in_window: number; oldest_release: number | null; today: number }[];
    const r = row!;
    if (req.warmup && r.today >= req.warmup.cap) return { ok: false, retryAt: req.warmup.dayEnd, reason: 'warmup-cap' };
    if (r.inflight >= req.connections) return { ok: false, retryAt: now + 250, reason: 'connections' };
    if (r.in_window >= req.rate.count) {
      return { ok: false, retryAt: r.oldest_release !== null ? r.oldest_release + req.rate.perMs + 1 : now + 500, reason: 'rate' };
    }
    const [inserted] = (await tx.execute(sql`
      insert into send_reservations (egress_id, provider, reserved_at) values (${egressId}, ${provider}, ${ts(now)}::timestamptz) returning id
    `)) as unknown as { id: string | number }[];
    return { ok: true, reservationId: Number(inserted!.id) };
  });
}

/** Ends a slot's SMTP transaction; from now on it counts only in the rate window. */
export async function releaseSlot(db: Db, reservationId: number, now: number): Promise<void> {
  await db.execute(sql`update send_reservations set released_at = ${ts(now)}::timestamptz where id = ${reservationId}`);
  // Old slots are only history: trim them now and then rather than on every send.
  if (Math.random() < 0.01) await db.execute(sql`delete from send_reservations where reserved_at < ${ts(now - 3 * 86_400_000)}::timestamptz`);
}
