// One placement run: plan a marked message per pool IP x seed mailbox, send each through the
// normal sending path from that IP, then (after the wait the workflow keeps) read every seed
// over IMAP and record inbox / spam / missing. Results feed the IP's score for the seed's
// provider (ip-status.ts) and the placement alarms.
import { randomBytes } from 'node:crypto';
import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { placementProbes, placementRuns, pools, seedMailboxes, sendingIps, tenants } from '../../db/schema.js';
import type { Mailer } from '../email/mailer.js';
import { returnPathFor } from '../email/return-path.js';
import { senderCache } from '../email/sender.js';
import { Refusal } from '../failures/refusal.js';
import { raiseAlarm, resolveAlarm } from '../monitor/alarms.js';
import { chooseRoute, finishRoute, poolTopology, type DeliveryDeps } from '../pool/route.js';
import { returnPathDomain } from '../sending-domains/records.js';
import { canSendFromDomain } from '../sending-domains/service.js';
import { readPlacements, type Placement } from './imap.js';
import { seedLogins } from './seeds.js';

/** The header (and subject token) a placement message carries. */
export const PLACEMENT_HEADER = 'X-Notiflow-Placement';
export const PLACEMENT_ALARM = 'placement';
const NO_ID = '00000000-0000-0000-0000-000000000000';

export interface PlacementPlan {
  runId: string;
  probes: string[];
  /** Pools with no tenant able to send (no active tenant with a DKIM-verified domain): their IPs are not tested. */
  skippedPools: string[];
}

/**
 * Records the run and one probe per IP x seed (every pool and seed, or those named). Idempotent: a
 * retried plan of the same run returns the probes already planned.
 */
export async function planPlacementRun(
  db: Db,
  input: { runId: string; trigger: 'schedule' | 'operator'; pools?: string[]; seeds?: string[] },
): Promise<PlacementPlan> {
  return db.transaction(async (tx) => {
    const [created] = await tx.insert(placementRuns).values({ id: input.runId, trigger: input.trigger }).onConflictDoNothing().returning();
    if (!created) {
      const probes = await tx.select({ id: placementProbes.id }).from(placementProbes).where(eq(placementProbes.runId, input.runId));
      return { runId: input.runId, probes: probes.map((p) => p.id), skippedPools: [] };
    }
    const seeds = await tx
      .select({ id: seedMailboxes.id, provider: seedMailboxes.provider })
      .from(seedMailboxes)
      .where(input.seeds ? inArray(seedMailboxes.id, input.seeds.length ? input.seeds : [NO_ID]) : undefined);
    const poolRows = await tx
      .select({ id: pools.id })
      .from(pools)
      .where(input.pools ? inArray(pools.id, input.pools.length ? input.pools : ['']) : undefined)
      .orderBy(asc(pools.id));
    const plan: PlacementPlan = { runId: input.runId, probes: [], skippedPools: [] };
    if (seeds.length === 0) return plan;
    for (const pool of poolRows) {
      const sender = await senderTenantOf(tx as unknown as Db, pool.id);
      const ips = await tx.select().from(sendingIps).where(eq(sendingIps.poolId, pool.id)).orderBy(asc(sendingIps.id));
      if (ips.length === 0) continue;
      if (!sender) {
        plan.skippedPools.push(pool.id);
        continue;
      }
      const rows = ips.flatMap((ip) =>
        seeds.map((seed) => ({
          runId: input.runId,
          ipId: ip.id,
          sourceIp: ip.localAddress,
          seedId: seed.id,
          provider: seed.provider,
          tenantId: sender,
          marker: `nfp-${randomBytes(12).toString('hex')}`,
        })),
      );
      const inserted = await tx.insert(placementProbes).values(rows).returning({ id: placementProbes.id });
      plan.probes.push(...inserted.map((r) => r.id));
    }
    return plan;
  });
}

/** The pool's oldest active tenant whose mail may go out (a DKIM-verified domain): its domain signs the probes. */
async function senderTenantOf(db: Db, poolId: string): Promise<string | null> {
  const candidates = await db
    .select({ id: tenants.id })
    .from(tenants)
    .where(and(eq(tenants.poolId, poolId), eq(tenants.status, 'active')))
    .orderBy(asc(tenants.createdAt), asc(tenants.id));
  for (const t of candidates) if ((await canSendFromDomain(db, t.id)).ok) return t.id;
  return null;
}

export interface ProbeDeps {
  db: Db;
  mailer: Mailer;
  secrets: SecretBox;
  delivery: DeliveryDeps;
}

/** Builds the sender for probe messages once per worker (sending domains and pools are cached as for notifications). */
export function probeSender(deps: ProbeDeps) {
  const { db, mailer, secrets, delivery } = deps;
  const senders = senderCache(db, secrets);
  const topology = poolTopology(db, 10_000);
  const notSent = (id: string, detail: string) =>
    db.update(placementProbes).set({ status: 'not_sent', outcome: 'not_sent', detail, checkedAt: new Date() }).where(eq(placementProbes.id, id));

  /**
   * Sends one probe from its IP, as a notification's e-mail goes: the provider's limits and send
   * slots, DKIM, the signed return path, the outcome recorded against the IP. An IP that may not
   * send now (suspended, quarantined, no slot) or a refusal is recorded as `not_sent`.
   */
  return async function sendProbe(probeId: string, keepAlive: <T>(work: () => Promise<T>) => Promise<T> = (w) => w()): Promise<{ status: string }> {
    const [row] = await db
      .select({ p: placementProbes, address: seedMailboxes.address, poolId: sendingIps.poolId })
      .from(placementProbes)
      .innerJoin(sendingIps, eq(sendingIps.id, placementProbes.ipId))
      .leftJoin(seedMailboxes, eq(seedMailboxes.id, placementProbes.seedId))
      .where(eq(placementProbes.id, probeId));
    if (!row || row.p.status !== 'planned') return { status: row?.p.status ?? 'gone' };
    if (!row.address) {
      await notSent(probeId, 'the seed mailbox was removed');
      return { status: 'not_sent' };
    }
    const domain = await senders.get(row.p.tenantId);
    if (!domain) {
      await notSent(probeId, 'the sending tenant has no sending domain');
      return { status: 'not_sent' };
    }
    let route;
    try {
      route = await chooseRoute(
        db,
        delivery,
        { tenantId: row.p.tenantId, poolId: row.poolId, recipientDomain: row.address.split('@').pop() ?? '', ipId: row.p.ipId },
        topology,
      );
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      await notSent(probeId, err.message);
      return { status: 'not_sent' };
    }
    const marker = row.p.marker;
    const outcome = await keepAlive(() =>
      mailer.send(route.smtp, {
        from: `"${domain.fromName.replace(/"/g, '')}" <${domain.fromLocalPart}@${domain.domain}>`,
        to: row.address!,
        subject: `Delivery check ${marker}`,
        text: `This message checks where mail from ${domain.domain} lands. Reference: ${marker}\n`,
        html: `<p>This message checks where mail from ${domain.domain} lands.</p><p>Reference: ${marker}</p>`,
        messageId: `<${marker}@${domain.domain}>`,
        headers: { [PLACEMENT_HEADER]: marker },
        envelopeFrom: returnPathFor(secrets, probeId, returnPathDomain(domain.domain)),
        dkim: { domainName: domain.domain, keySelector: domain.dkimSelector, privateKey: domain.dkimPrivateKey },
      }),
    );
    await finishRoute(db, delivery, route, { tenantId: row.p.tenantId, notificationId: probeId }, outcome);
    if (!outcome.ok) {
      await notSent(probeId, outcome.response);
      return { status: 'not_sent' };
    }
    await db.update(placementProbes).set({ status: 'sent', sentAt: new Date() }).where(eq(placementProbes.id, probeId));
    return { status: 'sent' };
  };
}

export interface PlacementCell {
  ip: string;
  ipId: string;
  provider: string;
  inbox: number;
  spam: number;
  missing: number;
}

export interface PlacementReport {
  runId: string;
  cells: PlacementCell[];
  /** Seeds that could not be read (their probes are `unchecked`): the seed id and why. */
  errors: { seedId: string; error: string }[];
  newAlarms: string[];
}

/**
 * Reads every seed of the run over IMAP and records where each sent probe landed; then, per IP x
 * provider, raises an alarm for spam-folder placement (a warning for missing mail) or resolves
 * the open one when every probe reached the inbox.
 */
export async function checkPlacementRun(db: Db, secrets: SecretBox, logger: Logger, runId: string, imapTimeoutMs?: number): Promise<PlacementReport> {
  const probes = await db
    .select()
    .from(placementProbes)
    .where(and(eq(placementProbes.runId, runId), eq(placementProbes.status, 'sent'), isNull(placementProbes.outcome)));
  const logins = await seedLogins(db, secrets);
  const report: PlacementReport = { runId, cells: [], errors: [], newAlarms: [] };
  const bySeed = new Map<string, typeof probes>();
  for (const p of probes) bySeed.set(p.seedId ?? '', [...(bySeed.get(p.seedId ?? '') ?? []), p]);
  for (const [seedId, mine] of bySeed) {
    const seed = logins.find((s) => s.id === seedId);
    let found: Map<string, { placement: Placement; folder: string | null }>;
    try {
      if (!seed) throw new Error('the seed mailbox was removed');
      found = await readPlacements(
        seed,
        mine.map((p) => p.marker),
        imapTimeoutMs,
      );
    } catch (err) {
      const error = `IMAP: ${(err as Error).message}`.slice(0, 300);
      report.errors.push({ seedId, error });
      await db
        .update(placementProbes)
        .set({ outcome: 'unchecked', detail: error, checkedAt: new Date() })
        .where(
          inArray(
            placementProbes.id,
            mine.map((p) => p.id),
          ),
        );
      continue;
    }
    for (const p of mine) {
      const f = found.get(p.marker)!;
      await db.update(placementProbes).set({ outcome: f.placement, detail: f.folder, checkedAt: new Date() }).where(eq(placementProbes.id, p.id));
    }
  }
  await db.update(placementRuns).set({ checkedAt: new Date() }).where(eq(placementRuns.id, runId));

  const checked = await db.select().from(placementProbes).where(eq(placementProbes.runId, runId));
  const cells = new Map<string, PlacementCell>();
  for (const p of checked) {
    if (p.outcome !== 'inbox' && p.outcome !== 'spam' && p.outcome !== 'missing') continue;
    const key = `${p.ipId}|${p.provider}`;
    const cell = cells.get(key) ?? { ip: p.sourceIp, ipId: p.ipId, provider: p.provider, inbox: 0, spam: 0, missing: 0 };
    cell[p.outcome]++;
    cells.set(key, cell);
  }
  report.cells = [...cells.values()];
  for (const c of report.cells) {
    const scope = `ip:${c.ip}|provider:${c.provider}`;
    if (c.spam === 0 && c.missing === 0) {
      await resolveAlarm(db, PLACEMENT_ALARM, scope);
      continue;
    }
    const total = c.inbox + c.spam + c.missing;
    const id = await raiseAlarm(db, {
      kind: PLACEMENT_ALARM,
      scope,
      severity: c.spam > 0 ? 'alarm' : 'warn',
      message:
        c.spam > 0
          ? `Seed placement: mail from ${c.ip} went to the spam folder at ${c.provider} (${c.spam} of ${total} seeds)`
          : `Seed placement: mail from ${c.ip} did not arrive at ${c.provider} (${c.missing} of ${total} seeds)`,
      detail: { ip: c.ip, ipId: c.ipId, provider: c.provider, runId, inbox: c.inbox, spam: c.spam, missing: c.missing },
    });
    if (id) report.newAlarms.push(id);
  }
  if (report.errors.length || report.newAlarms.length)
    logger.warn({ runId, errors: report.errors.length, newAlarms: report.newAlarms.length }, 'placement check');
  return report;
}
