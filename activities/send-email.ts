import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { and, eq, sql } from 'drizzle-orm';
import { auditEvents, categories, deliveryAttempts, notifications, pools, renderedMessages, suppressions, tenants, users } from '../db/schema.js';
import { appendAudit } from '../domain/audit/append.js';
import { finalAuditEntry, finalStatusUpdate } from '../domain/notifications/completion.js';
import type { ActivityDeps } from './deps.js';
import type { SmtpOutcome } from '../domain/email/mailer.js';
import { returnPathFor } from '../domain/email/return-path.js';
import { senderCache } from '../domain/email/sender.js';
import { listUnsubscribeHeaders, unsubscribeUrlFor } from '../domain/feedback/list-unsubscribe.js';
import { notificationUnsubscribeToken, storeUnsubscribeToken } from '../domain/feedback/unsubscribe-token.js';
import { suppressionApplies } from '../domain/feedback/suppression.js';
import { permanent, transient } from './failures.js';
import { withHeartbeat } from './heartbeat.js';
import { writeThroughOutage } from '../db/unavailable.js';
import { tenantGate } from '../domain/tenancy/gate.js';
import { returnPathDomain } from '../domain/sending-domains/records.js';
import { classifyBounce, type BounceClass } from '../domain/feedback/bounce-class.js';
import { recordFeedbackOutcome } from '../domain/feedback/record-outcome.js';
import { redactAddresses } from '../domain/failures/redact.js';
import { Refusal } from '../domain/failures/refusal.js';
import { recordDelivery, replyClass, smtpReplies } from '../domain/metrics/registry.js';
import { defaultDeliveryDeps } from '../domain/pool/delivery-deps.js';
import { chooseRoute, finishRoute, poolTopology } from '../domain/pool/route.js';
import { maxAgeOf } from '../domain/pool/max-age.js';

/** Pool membership changed by an operator reaches each worker within this. */
const POOL_TOPOLOGY_TTL_MS = 10_000;

export function sendEmailActivities({ db, mailer, secrets, publicUrl, logger, delivery: deliveryDeps }: ActivityDeps) {
  const delivery = deliveryDeps ?? defaultDeliveryDeps();
  const senders = senderCache(db, secrets);
  const topology = poolTopology(db, POOL_TOPOLOGY_TTL_MS);
  // Built once per worker, like prepareDelivery's read: drizzle's query building costs more CPU
  // than the query on this path.
  const facts = db
    .select({
      tenantId: notifications.tenantId,
      email: users.email,
      subject: renderedMessages.subject,
      html: renderedMessages.html,
      text: renderedMessages.text,
      poolId: tenants.poolId,
      relayHost: pools.relayHost,
      relayPort: pools.relayPort,
      userId: notifications.userId,
      createdAt: notifications.createdAt,
      type: notifications.type,
      category: notifications.categoryKey,
      triggeredAt: notifications.createdAt,
      mandatory: categories.mandatory,
      statusWebhookUrl: tenants.statusWebhookUrl,
      tenantStatus: tenants.status,
      tenantStatusReason: tenants.statusReason,
      suppressionReason: suppressions.reason,
      suppressionSource: suppressions.source,
      // An accepted try already recorded: the worker died (or lost Temporal) after writing it and
      // before the activity's completion reached the server. The retry must not send it again.
      servedAttemptId: sql<
        string | null
      >`(select a.id::text from delivery_attempts a where a.notification_id = ${notifications.id} and a.channel = 'email' and a.outcome = 'accepted' limit 1)`,
      servedSourceIp: sql<
        string | null
      >`(select a.source_ip from delivery_attempts a where a.notification_id = ${notifications.id} and a.channel = 'email' and a.outcome = 'accepted' limit 1)`,
    })
    .from(notifications)
    .innerJoin(users, eq(users.id, notifications.userId))
    .innerJoin(tenants, eq(tenants.id, notifications.tenantId))
    .innerJoin(categories, and(eq(categories.tenantId, notifications.tenantId), eq(categories.key, notifications.categoryKey)))
    .leftJoin(pools, eq(pools.id, tenants.poolId))
    .leftJoin(renderedMessages, and(eq(renderedMessages.notificationId, notifications.id), eq(renderedMessages.channel, 'email')))
    // Suppressions are stored normalised (see domain/feedback/suppression.ts normaliseAddress).
    .leftJoin(suppressions, and(eq(suppressions.tenantId, notifications.tenantId), eq(suppressions.email, sql`lower(btrim(${users.email}))`)))
    .where(eq(notifications.id, sql.placeholder('id')))
    .prepare('send_email_facts');
  return {
    /**
     * Sends the rendered e-mail, DKIM-signed with the tenant's key, from an IP of the
     * tenant's pool. Each try is recorded as a delivery attempt. SMTP 4xx and connection errors
     * throw retryable; 5xx throws non-retryable so the workflow falls back. With `deliveryCompletes`,
     * an accepted mail is the notification's outcome: the same write records it as delivered.
     */
    async sendEmail({
      notificationId,
      deliveryCompletes,
    }: SendInput): Promise<SendResult & ({ attemptId: string; sourceIp: string } | { waitUntil: number })> {
      const ctx = Context.current();
      const [row] = await facts.execute({ id: notificationId });
      if (!row) throw permanent('NotFound', `Notification ${notificationId} not found`);
      // Recorded in the same statement as the attempt, a completion is already on the row too.
      if (row.servedAttemptId)
        return {
          attemptId: row.servedAttemptId,
          sourceIp: row.servedSourceIp ?? '',
          ...(deliveryCompletes ? { completion: { statusWebhook: Boolean(row.statusWebhookUrl) } } : {}),
        };
      if (!row.email) throw permanent('NoEmailAddress', 'The user has no e-mail address');
      await tenantGate(db, row, notificationId, 'email');
      // Hard-bounced addresses get nothing; complained or unsubscribed ones still get required alerts. The workflow uses the other channel.
      if (row.suppressionReason && suppressionApplies(row.suppressionReason, row.mandatory)) {
        await appendAudit(db, {
          tenantId: row.tenantId,
          notificationId,
          step: 'email.suppressed',
          detail: { reason: row.suppressionReason, source: row.suppressionSource },
        });
        throw permanent('Suppressed', `The address is suppressed (${row.suppressionReason}); no e-mail was sent`);
      }
      if (row.subject === null || row.text === null) throw transient('NotRendered', 'The e-mail has not been rendered yet');
      if (!row.poolId) throw permanent('NoPool', `Tenant ${row.tenantId} has no usable sending pool`);

      const domain = await senders.get(row.tenantId);
      if (!domain) throw permanent('NoSendingDomain', `Tenant ${row.tenantId} has no sending domain`);
      const recipientDomain = row.email.split('@').pop() ?? '';
      // Pool, provider rules and reputation pick the IP; short waits are spent here, long ones in the workflow.
      const msg = { tenantId: row.tenantId, poolId: row.poolId, recipientDomain, mandatory: row.mandatory };
      const routed = await routeOrWait(() => chooseRoute(db, delivery, msg, topology));
      if ('waitUntil' in routed) {
        // Every IP the tenant may use is held back for this provider: the workflow waits on a
        // durable timer (however long), unless that is past the category's maximum age.
        const deadline = row.createdAt.getTime() + maxAgeOf(delivery.maxAges, row.category);
        if (routed.waitUntil > deadline)
          throw permanent(
            'TooLate',
            `No IP may send before ${new Date(routed.waitUntil).toISOString()}, past the ${row.category} maximum age: ${routed.reason}`,
          );
        await appendAudit(db, {
          tenantId: row.tenantId,
          notificationId,
          step: 'email.waiting',
          detail: { until: new Date(routed.waitUntil).toISOString(), reason: routed.reason },
        });
        return { waitUntil: routed.waitUntil };
      }
      const route = routed;

      const plannedAttemptId = randomUUID();
      const mail = {
        from: `"${domain.fromName.replace(/"/g, '')}" <${domain.fromLocalPart}@${domain.domain}>`,
        to: row.email,
        subject: row.subject,
        html: row.html ?? '',
        text: row.text,
        messageId: `<${notificationId}@${domain.domain}>`,
        headers: {
          'X-Notification-Id': notificationId,
          'Feedback-ID': feedbackId(row),
          ...listUnsubscribeHeaders(unsubscribeUrlFor({ secrets, publicUrl }, { notificationId, mandatory: row.mandatory })),
        },
        // VERP: the return path names this attempt (signed), so a bounce finds it.
        // On the return-path subdomain (CNAME to the engine's inbound host): SPF passes there and aligns with the From domain.
        envelopeFrom: returnPathFor(secrets, plannedAttemptId, returnPathDomain(domain.domain)),
        dkim: { domainName: domain.domain, keySelector: domain.dkimSelector, privateKey: domain.dkimPrivateKey },
      };
      // The footer's and the header's link (one token per notification) work from the moment the mail leaves.
      if (!row.mandatory)
        await storeUnsubscribeToken(db, notificationUnsubscribeToken(secrets, notificationId), {
          tenantId: row.tenantId,
          userId: row.userId,
          category: row.category,
        });
      const startedAt = new Date();
      const outcome = await withHeartbeat(() => mailer.send(route.smtp, mail));
      // The mail has left: a failure to book its outcome must not make the activity send it again.
      const verdict = await finishRoute(db, delivery, route, { tenantId: row.tenantId, notificationId }, outcome).catch((err: unknown) => {
        logger.warn({ err, notificationId, ipId: route.ipId }, 'recording the send outcome for reputation failed');
        return { retryElsewhere: false, firedRules: [] };
      });
      const attemptOutcome = outcome.ok ? 'accepted' : outcome.kind === 'transient' ? 'deferred' : 'failed';
      const responseCode = outcome.ok ? smtpCode(outcome.response) : (outcome.responseCode ?? null);
      smtpReplies.inc({ class: replyClass(responseCode) });
      recordDelivery({
        channel: 'email',
        provider: route.provider,
        pool: route.poolId,
        ip: route.sourceIp,
        outcome: attemptOutcome,
        triggeredAt: row.triggeredAt,
      });
      const attempt = db.insert(deliveryAttempts).values({
        id: plannedAttemptId,
        notificationId,
        channel: 'email',
        attempt: ctx.info.attempt,
        outcome: attemptOutcome,
        poolId: route.poolId,
        ipId: route.ipId,
        sourceIp: route.sourceIp,
        target: recipientDomain,
        provider: route.provider,
        responseCode,
        response: outcome.response,
        startedAt,
      });
      const step = {
        tenantId: row.tenantId,
        notificationId,
        step: `email.${attemptOutcome}`,
        detail: { attempt: ctx.info.attempt, sourceIp: route.sourceIp, provider: route.provider, domain: recipientDomain, responseCode },
      };
      const completion =
        outcome.ok && deliveryCompletes
          ? { notificationId, tenantId: row.tenantId, status: 'delivered' as const, deliveredChannels: ['email'] }
          : undefined;
      // The attempt, its audit step and (when this send completes the notification) the final
      // status in one statement: one round trip, all or nothing.
      const steps = db.insert(auditEvents).values(completion ? [step, finalAuditEntry(completion)] : [step]);
      // PostgreSQL restarting now would otherwise fail the activity, and its retry send the mail again.
      await writeThroughOutage(
        () =>
          db.execute(
            completion
              ? sql`with a as (${attempt.getSQL()}), s as (${finalStatusUpdate(db, completion).getSQL()}) ${steps.getSQL()}`
              : sql`with a as (${attempt.getSQL()}) ${steps.getSQL()}`,
          ),
        (ms) => ctx.sleep(ms).then(() => ctx.heartbeat()),
      );
      const attemptId = plannedAttemptId;
      if (outcome.ok)
        return { attemptId, sourceIp: route.sourceIp, ...(completion ? { completion: { statusWebhook: Boolean(row.statusWebhookUrl) } } : {}) };
      // A reply that blames the IP (blocklist, rate limit) is retried from another IP, not bounced.
      if (verdict.retryElsewhere)
        throw transient('IpRejected', `SMTP ${outcome.responseCode ?? 'error'} for ${route.sourceIp} at ${route.provider}: ${outcome.response}`, 100);
      if (outcome.kind === 'permanent') {
        await recordRcptBounce(db, outcome, {
          tenantId: row.tenantId,
          notificationId,
          attemptId,
          sourceIp: route.sourceIp,
          provider: route.provider,
          email: row.email,
        });
      }
      throw failureOf(outcome);
    },
  };
}

/** Waits shorter than this are spent inside the activity; longer ones go back to the workflow as a timer. */
const IN_ACTIVITY_WAIT_MS = 2_000;
/** At most this much of an activity is spent on short waits before the workflow takes over. */
const IN_ACTIVITY_WAIT_TOTAL_MS = 20_000;

/**
 * A route, or the time the earliest IP may send. Short waits (a send slot under the rate limit)
 * are slept here; a suspension or hold goes back as `waitUntil`: the retry policy is never spent on it.
 */
async function routeOrWait<R>(choose: () => Promise<R>): Promise<R | { waitUntil: number; reason: string }> {
  let waited = 0;
  for (;;) {
    try {
      return await choose();
    } catch (err) {
      if (!(err instanceof Refusal) || (err.type !== 'NoIpAvailable' && err.type !== 'TenantHeld')) throw err;
      const delay = err.retryAfterMs ?? 1_000;
      if (delay > IN_ACTIVITY_WAIT_MS || waited + delay > IN_ACTIVITY_WAIT_TOTAL_MS) return { waitUntil: Date.now() + delay, reason: err.message };
      await Context.current().sleep(delay);
      Context.current().heartbeat();
      waited += delay;
    }
  }
}

export interface SendInput {
  notificationId: string;
  /**
   * True when this channel's delivery is the notification's outcome (it is the only channel
   * still in play): the send's own write then records the notification as delivered.
   */
  deliveryCompletes?: boolean;
}

/** What a send tells the workflow: when its delivery completed the notification, whether a status webhook follows. */
export interface SendResult {
  completion?: { statusWebhook: boolean };
}

/**
 * Gmail's Feedback-ID (Postmaster Tools' feedback loop): up to four colon-separated fields, the last
 * naming the sender; complaint rates are then reported per type, category and tenant.
 */
function feedbackId(n: { type: string; category: string; tenantId: string }): string {
  const field = (s: string) => s.replace(/[^\w.-]/g, '_');
  return [n.type, n.category, n.tenantId, 'notiflow'].map(field).join(':');
}

function smtpCode(response: string): number | null {
  const m = /^(\d{3})/.exec(response);
  return m ? Number(m[1]) : null;
}

/** Replies at RCPT that say the mailbox itself is gone: unknown (5.1.1), no such domain (5.1.10), disabled (5.2.1). */
const addressGone: ReadonlySet<BounceClass> = new Set(['unknown_user', 'bad_domain', 'mailbox_disabled']);

/** The receiving server's own 5xx for the address counts as a hard bounce, exactly as its DSN would. */
async function recordRcptBounce(
  db: ActivityDeps['db'],
  outcome: Extract<SmtpOutcome, { ok: false }>,
  at: { tenantId: string; notificationId: string; attemptId: string; sourceIp: string; provider: string; email: string },
): Promise<void> {
  const diagnostic = redactAddresses(outcome.response);
  const verdict = classifyBounce({ smtpCode: outcome.responseCode ?? null, status: outcome.enhancedCode ?? null, diagnostic });
  if (verdict.type !== 'hard' || !addressGone.has(verdict.class)) return;
  await db.transaction((tx) =>
    recordFeedbackOutcome(tx, {
      kind: 'bounce',
      verdict,
      cls: verdict.class,
      status: outcome.enhancedCode ?? null,
      diagnostic,
      source: 'smtp',
      ...at,
    }),
  );
}

function failureOf(outcome: Extract<SmtpOutcome, { ok: false }>) {
  // No reply: the engine's own wording (failure-text.ts), without the socket's error code.
  const message = outcome.responseCode ? `SMTP ${outcome.responseCode}: ${outcome.response}` : outcome.response;
  return outcome.kind === 'transient' ? transient('SmtpTransient', message) : permanent('SmtpPermanent', message);
}
