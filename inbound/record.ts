// Links a parsed bounce or complaint to its notification and delivery attempt, and records the
// outcome: a feedback event (per IP x provider, for reputation), suppression where the address is
// done for, and the audit trail. Reports that can't be used are kept with the reason and change
// nothing else.
import { createHash } from 'node:crypto';
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { attemptFromReturnPath } from '../domain/email/return-path.js';
import { addressesIn, redactAddresses } from '../domain/failures/redact.js';
import { recordFeedbackOutcome } from '../domain/feedback/record-outcome.js';
import type { SecretBox } from '../config/secrets.js';
import type { Db } from '../db/client.js';
import { deliveryAttempts, feedbackEvents, feedbackRejects, feedbackRejectsUsage, notifications, users } from '../db/schema.js';
import { classifyBounce, type BounceVerdict } from '../domain/feedback/bounce-class.js';
import type { StatusWebhookOutcome } from '../domain/notifications/status.js';
import type { DmarcSettings } from './dmarc-record.js';
import { feedbackSourceCheck, type FeedbackLoops, type TxtResolver } from './feedback-sources.js';
import { MalformedReport, parseReport, type OriginalRefs, type ParsedReport } from './parse-report.js';

/** A notification outcome learnt after sending, for the tenant's status webhook. */
export interface LateOutcome {
  tenantId: string;
  notificationId: string;
  workflowId: string;
  outcome: Extract<StatusWebhookOutcome, 'bounced' | 'complained'>;
}

export interface FeedbackDeps {
  db: Db;
  secrets: SecretBox;
  logger?: Logger;
  /** Called after a bounce or complaint is committed (starts the tenant status webhook). */
  onOutcome?: (event: LateOutcome) => Promise<void>;
  /** Rejected reports are kept this many days for inspection (default 30). */
  rejectsKeepDays?: number;
  /** At most this many rejected reports and bytes are kept in all (default defaultRejectsCap); beyond, they are counted and dropped. */
  rejectsCap?: { rows: number; bytes: number };
  /** The feedback loops whose complaints are believed; none: every mailed complaint is rejected. */
  loops?: FeedbackLoops;
  /** DNS for the reporters' DKIM keys (the system's when absent). */
  resolver?: TxtResolver;
  /** Caps and alarm threshold for DMARC aggregate reports (defaults when absent). */
  dmarc?: DmarcSettings;
}

export type ReportResult =
  | { status: 'recorded'; kind: 'bounce' | 'complaint'; notificationId: string; verdict?: BounceVerdict; suppressed: boolean }
  | { status: 'duplicate'; notificationId: string }
  | { status: 'rejected'; reason: string };

/** Complaint feedback types (RFC 5965 §7.3); not-spam and auth-failure reports are not complaints. */
const complaintTypes = new Set(['abuse', 'fraud', 'virus', 'other']);

/** Bytes of a rejected report kept: enough to see what it was, bounded whatever arrives. */
export const maxRawKept = 64 * 1024;
const maxReasonKept = 500;
/** Addresses indexed per rejected report; a report quoting more is kept with its addresses blanked. */
export const maxAddressesKept = 64;
/** The whole table's bound: what strangers can make us store. */
export const defaultRejectsCap = { rows: 100_000, bytes: 512 * 1024 * 1024 };
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Everything that arrives at the listener goes through here. */
export async function handleRawReport(
  deps: FeedbackDeps,
  raw: string,
  envelope: { mailFrom: string; rcptTo: string[]; remoteAddress?: string; source?: string },
): Promise<ReportResult> {
  const source = envelope.source ?? 'smtp';
  let report: ParsedReport | undefined;
  const reject = (reason: string, tenantId?: string) =>
    keepRejected(deps, { source, reason, raw, remoteAddress: envelope.remoteAddress, tenantId, recipients: report ? recipientsOf(report) : [] });
  try {
    report = await parseReport(raw, envelope);
  } catch (err) {
    if (err instanceof MalformedReport) return reject(err.reason);
    throw err;
  }
  const link = linkReport(deps.secrets, report, envelope.rcptTo);
  if ('reason' in link) return reject(link.reason);
  // Bounces prove themselves by the signed return path; complaints by who sent them.
  if (report.kind === 'arf') {
    const verdict = await sourceCheckOf(deps)(raw, envelope.remoteAddress);
    if (!verdict.trusted) return reject(verdict.reason);
  }
  return recordReport(deps, report, link, { source: report.kind === 'arf' ? 'arf' : 'dsn', reject });
}

const sourceChecks = new WeakMap<FeedbackDeps, ReturnType<typeof feedbackSourceCheck>>();
function sourceCheckOf(deps: FeedbackDeps) {
  let check = sourceChecks.get(deps);
  if (!check) sourceChecks.set(deps, (check = feedbackSourceCheck(deps.loops ?? { domains: [], ips: [] }, deps.resolver)));
  return check;
}

type Link = { attemptId: string } | { notificationId: string } | { reason: string };

/**
 * Bounces must come back to a signed return path (the VERP address names the attempt), so a
 * forged bounce can't suppress anyone. Complaints name the notification in the original's headers.
 */
function linkReport(secrets: SecretBox, report: ParsedReport, rcptTo: string[]): Link {
  const returnPaths = [...rcptTo, ...(report.original.returnPath ? [report.original.returnPath] : [])];
  for (const address of returnPaths) {
    const attemptId = attemptFromReturnPath(secrets, address);
    if (attemptId) return { attemptId };
  }
  if (report.kind !== 'arf') {
    const looksVerp = returnPaths.some((a) => /^bounces\+/i.test(a));
    return {
      reason: looksVerp ? 'forged return path: the signature does not match' : 'bounce not sent to a signed return path: no delivery attempt named',
    };
  }
  const notificationId = notificationIdOf(report.original);
  return notificationId ? { notificationId } : { reason: 'the report names no notification (no X-Notification-Id or Message-ID of ours)' };
}

function notificationIdOf(refs: OriginalRefs): string | undefined {
  if (refs.notificationId && uuidPattern.test(refs.notificationId)) return refs.notificationId.toLowerCase();
  const local = /^<?([^@>]+)@/.exec(refs.messageId ?? '')?.[1];
  return local && uuidPattern.test(local) ? local.toLowerCase() : undefined;
}

export interface ReportContext {
  source: string;
  /** Keeps the report as rejected; `tenantId` when it names a notification of that tenant. */
  reject: (reason: string, tenantId?: string) => Promise<ReportResult>;
}

/** The addresses a parsed report is about: its failed recipients, the complained-of one, the original's To. */
export function recipientsOf(report: ParsedReport): string[] {
  const named = [
    ...(report.kind === 'dsn' ? report.recipients.map((r) => r.finalRecipient) : []),
    ...(report.kind === 'arf' ? [report.recipient] : []),
    report.original.to,
  ];
  return named.filter((a): a is string => typeof a === 'string' && a.includes('@'));
}

/** Records a parsed report linked to an attempt or a notification (also used by the provider webhook). */
export async function recordReport(
  deps: FeedbackDeps,
  report: ParsedReport,
  link: { attemptId: string } | { notificationId: string },
  ctx: ReportContext,
): Promise<ReportResult> {
  const { db } = deps;
  const attempt = await findAttempt(db, link);
  const notificationId = attempt?.notificationId ?? ('notificationId' in link ? link.notificationId : undefined);
  if (!notificationId) return ctx.reject(`unknown delivery attempt ${'attemptId' in link ? link.attemptId : ''}`);
  const [n] = await db
    .select({ tenantId: notifications.tenantId, email: users.email, workflowId: notifications.workflowId })
    .from(notifications)
    .innerJoin(users, eq(users.id, notifications.userId))
    .where(eq(notifications.id, notificationId));
  if (!n) return ctx.reject(`unknown notification ${notificationId}`);

  let kind: 'bounce' | 'complaint';
  let verdict: BounceVerdict | undefined;
  let status: string | null = null;
  let diagnostic: string | null = null;
  let cls: string;
  if (report.kind === 'arf') {
    if (!complaintTypes.has(report.feedbackType)) return ctx.reject(`feedback type ${report.feedbackType} is not a complaint`, n.tenantId);
    if (!attempt) return ctx.reject(`no e-mail of notification ${notificationId} was accepted by a provider: nothing to complain about`, n.tenantId);
    // A complaint about someone else's copy must not suppress this user.
    if (!report.recipient) return ctx.reject('the complaint names no recipient (Original-Rcpt-To or the original To)', n.tenantId);
    if (report.recipient.toLowerCase() !== (n.email ?? '').toLowerCase())
      return ctx.reject('the reported recipient is not the one the notification was sent to', n.tenantId);
    kind = 'complaint';
    cls = report.feedbackType;
  } else {
    const failed = report.kind === 'dsn' ? report.recipients.find((r) => r.action === 'failed' || r.action === 'delayed') : undefined;
    if (report.kind === 'dsn' && !failed) return ctx.reject('the DSN reports no failed or delayed recipient', n.tenantId);
    status = failed?.status ?? null;
    diagnostic =
      storable(redactAddresses((failed ? failed.diagnostic : report.kind === 'plain-bounce' ? report.diagnostic : undefined) ?? '')) || null;
    verdict = classifyBounce({ status, diagnostic, action: failed?.action });
    kind = 'bounce';
    cls = verdict.class;
  }

  // The IP charged is the one we recorded sending from, never one a report names.
  const sourceIp = attempt?.sourceIp ?? null;
  const provider = attempt?.provider ?? attempt?.target ?? null;

  const outcome = await db.transaction(async (tx) => {
    // The same report delivered twice (an SMTP retry) counts once.
    const dup = await tx
      .select({ id: feedbackEvents.id })
      .from(feedbackEvents)
      .where(
        and(
          eq(feedbackEvents.notificationId, notificationId),
          eq(feedbackEvents.kind, kind),
          attempt ? eq(feedbackEvents.attemptId, attempt.id) : undefined,
          verdict ? eq(feedbackEvents.bounceType, verdict.type) : undefined,
        ),
      )
      .limit(1);
    if (dup.length) return { duplicate: true, suppressed: false };
    const recorded = await recordFeedbackOutcome(tx, {
      kind,
      tenantId: n.tenantId,
      notificationId,
      attemptId: attempt?.id ?? null,
      verdict,
      cls,
      status,
      diagnostic,
      sourceIp,
      provider,
      source: ctx.source,
      email: n.email,
    });
    return { duplicate: false, ...recorded };
  });
  if (outcome.duplicate) return { status: 'duplicate', notificationId };

  if (kind === 'complaint' || verdict?.type === 'hard') {
    await deps.onOutcome?.({
      tenantId: n.tenantId,
      notificationId,
      workflowId: n.workflowId,
      outcome: kind === 'complaint' ? 'complained' : 'bounced',
    });
  }
  deps.logger?.info({ notificationId, kind, class: cls, sourceIp, suppressed: outcome.suppressed }, 'feedback recorded');
  return { status: 'recorded', kind, notificationId, verdict, suppressed: outcome.suppressed };
}

async function findAttempt(db: Db, link: { attemptId: string } | { notificationId: string }) {
  const cols = {
    id: deliveryAttempts.id,
    notificationId: deliveryAttempts.notificationId,
    sourceIp: deliveryAttempts.sourceIp,
    provider: deliveryAttempts.provider,
    target: deliveryAttempts.target,
  };
  if ('attemptId' in link) {
    const [a] = await db.select(cols).from(deliveryAttempts).where(eq(deliveryAttempts.id, link.attemptId));
    return a;
  }
  // A complaint is about the copy that was delivered: the latest accepted e-mail attempt.
  const [a] = await db
    .select(cols)
    .from(deliveryAttempts)
    .where(
      and(eq(deliveryAttempts.notificationId, link.notificationId), eq(deliveryAttempts.channel, 'email'), eq(deliveryAttempts.outcome, 'accepted')),
    )
    .orderBy(desc(deliveryAttempts.startedAt))
    .limit(1);
  return a;
}

/**
 * Keeps a report that could not be used, within the table's cap: the same report again only
 * counts, and one that would pass the cap is counted as dropped. The addresses it quotes are
 * indexed for erasure, and it is tied to the tenant it names when it names one.
 */
export async function keepRejected(
  deps: Pick<FeedbackDeps, 'db' | 'rejectsKeepDays' | 'rejectsCap' | 'logger'>,
  r: { source: string; reason: string; raw: string; remoteAddress?: string; tenantId?: string; recipients?: string[] },
): Promise<ReportResult> {
  const { db } = deps;
  const cap = deps.rejectsCap ?? defaultRejectsCap;
  // Old rows go first, so they make room for this one.
  await pruneRejects(deps, deps.rejectsKeepDays ?? 30);
  const reason = storable(r.reason).slice(0, maxReasonKept);
  let raw = storable(cutUtf8(r.raw, maxRawKept));
  const quoted = addressesIn(raw, maxAddressesKept);
  // More addresses than we index: none stays readable, so erasure cannot miss one.
  if (!quoted) raw = cutUtf8(redactAddresses(raw), maxRawKept);
  const recipients = [...new Set([...(r.recipients ?? []).map((a) => a.trim().toLowerCase()), ...(quoted ?? [])])].slice(0, maxAddressesKept);
  const digest = createHash('sha256').update(`${r.source}\0${reason}\0${raw}`).digest('hex');
  const bytes = Buffer.byteLength(raw) + Buffer.byteLength(reason);
  const kept = await db.transaction(async (tx) => {
    const again = await tx
      .update(feedbackRejects)
      .set({ repeats: sql`${feedbackRejects.repeats} + 1`, lastReceivedAt: new Date() })
      .where(eq(feedbackRejects.digest, digest))
      .returning({ id: feedbackRejects.id });
    if (again.length) return true;
    // The usage row (kept by triggers) is locked: concurrent reports queue here, so the cap holds exactly.
    const room = await tx
      .select({ id: feedbackRejectsUsage.id })
      .from(feedbackRejectsUsage)
      .where(
        and(eq(feedbackRejectsUsage.id, 1), lt(feedbackRejectsUsage.rows, cap.rows), sql`${feedbackRejectsUsage.bytes} + ${bytes} <= ${cap.bytes}`),
      )
      .for('update');
    if (!room.length) {
      await tx
        .update(feedbackRejectsUsage)
        .set({ dropped: sql`${feedbackRejectsUsage.dropped} + 1` })
        .where(eq(feedbackRejectsUsage.id, 1));
      return false;
    }
    await tx
      .insert(feedbackRejects)
      .values({ source: r.source, reason, raw, remoteAddress: r.remoteAddress ?? null, digest, tenantId: r.tenantId ?? null, recipients })
      .onConflictDoUpdate({
        target: feedbackRejects.digest,
        set: { repeats: sql`${feedbackRejects.repeats} + 1`, lastReceivedAt: new Date() },
      });
    return true;
  });
  if (!kept) deps.logger?.warn({ source: r.source, rows: cap.rows, bytes: cap.bytes }, 'rejected-report store is full: report dropped');
  return { status: 'rejected', reason: r.reason };
}

/** Postgres text holds no NUL: a report with one is still kept (marked), not answered 451 for ever. */
const storable = (s: string) => s.replace(/\0/g, '\uFFFD');

/** The first `max` bytes of a string as UTF-8, not splitting a character (Postgres refuses a broken one). */
function cutUtf8(s: string, max: number): string {
  if (s.length * 3 <= max) return s;
  const bytes = Buffer.from(s.slice(0, max), 'utf8');
  if (bytes.length <= max) return bytes.toString('utf8');
  return bytes
    .subarray(0, max)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

// Pruned from the insert path, at most once a minute per listener: the table holds what
// strangers send us, so it must not grow without end even with no schedule running.
const lastPrune = new WeakMap<object, number>();
async function pruneRejects(deps: Pick<FeedbackDeps, 'db'>, keepDays: number): Promise<void> {
  if (Date.now() - (lastPrune.get(deps) ?? 0) < 60_000) return;
  lastPrune.set(deps, Date.now());
  await deps.db.delete(feedbackRejects).where(lt(feedbackRejects.lastReceivedAt, sql`now() - make_interval(days => ${keepDays})`));
}
