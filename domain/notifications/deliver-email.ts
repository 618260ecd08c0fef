import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { deliveryAttempts } from '../../db/schema.js';
import { writeThroughOutage } from '../../db/unavailable.js';
import type { Mailer, SmtpOutcome } from '../email/mailer.js';
import { returnPathFor } from '../email/return-path.js';
import { senderCache } from '../email/sender.js';
import { redactAddresses } from '../failures/redact.js';
import { failedStop, Refusal, retryStop, stopping, type Stop } from '../failures/refusal.js';
import { classifyBounce, type BounceClass } from '../feedback/bounce-class.js';
import { listUnsubscribeHeaders, unsubscribeUrlFor } from '../feedback/list-unsubscribe.js';
import { recordFeedbackOutcome } from '../feedback/record-outcome.js';
import { suppressionApplies } from '../feedback/suppression.js';
import { notificationUnsubscribeToken, storeUnsubscribeToken } from '../feedback/unsubscribe-token.js';
import { recordDelivery, replyClass, smtpReplies } from '../metrics/registry.js';
import { defaultDeliveryDeps } from '../pool/delivery-deps.js';
import { maxAgeOf } from '../pool/max-age.js';
import { chooseRoute, finishRoute, poolTopology, type DeliveryDeps } from '../pool/route.js';
import { returnPathDomain } from '../sending-domains/records.js';
import { tenantGate } from './tenant-gate.js';
import { writeSteps } from './audit-steps.js';
import { finalStatusUpdate, finalStep } from './complete.js';
import type { Attempt, SendInput, SendResult } from './delivery.js';
import { notificationFacts } from './facts.js';

/** Pool membership changed by an operator reaches each worker within this. */
const POOL_TOPOLOGY_TTL_MS = 10_000;

/** What the e-mail delivery tells its caller: sent (now or on an earlier try), wait on a timer, or a Stop. */
export type EmailOutcome =
  | (SendResult & { kind: 'sent'; attemptId: string; sourceIp: string; provider?: string })
  | { kind: 'waiting'; until: number; provider?: string }
  | Stop;

export interface EmailDeps {
  db: Db;
  mailer: Mailer;
  secrets: SecretBox;
  publicUrl: string;
  logger: Logger;
  delivery?: DeliveryDeps;
}

/**
 * The e-mail delivery of a worker: the rendered e-mail, DKIM-signed with the tenant's key, from an
 * IP of the tenant's pool. Each try is recorded as a delivery attempt. SMTP 4xx and connection
 * errors are a retry; 5xx is failed, so the workflow falls back. With `deliveryCompletes`, an
 * accepted mail is the notification's outcome: the same write records it as delivered.
 */
export function emailDelivery({ db, mailer, secrets, publicUrl, logger, delivery: deliveryDeps }: EmailDeps) {
  const delivery = deliveryDeps ?? defaultDeliveryDeps();
  const senders = senderCache(db, secrets);
  const topology = poolTopology(db, POOL_TOPOLOGY_TTL_MS);
  const facts = notificationFacts(db);

  async function deliver({ notificationId, deliveryCompletes }: SendInput, attempt: Attempt): Promise<EmailOutcome> {
    const row = await facts(notificationId, 'email');
    if (!row) return failedStop('NotFound', `Notification ${notificationId} not found`);
    const statusWebhook = Boolean(row.statusWebhookUrl);
    // Recorded in the same statement as the attempt, a completion is already on the row too.
    if (row.servedAttemptId)
      return {
        kind: 'sent',
        attemptId: row.servedAttemptId,
        sourceIp: row.servedSourceIp ?? '',
        ...(deliveryCompletes ? { completion: { statusWebhook } } : {}),
      };
    if (!row.email) return failedStop('NoEmailAddress', 'The user has no e-mail address');
    await tenantGate(db, row, notificationId, 'email');
    // Hard-bounced addresses get nothing; complained or unsubscribed ones still get required alerts. The workflow uses the other channel.
    if (row.suppressionReason && suppressionApplies(row.suppressionReason, row.mandatory)) {
      await writeSteps(db, [
        {
          tenantId: row.tenantId,
          notificationId,
          step: 'email.suppressed',
          detail: { reason: row.suppressionReason, source: row.suppressionSource },
        },
      ]);
      return failedStop('Suppressed', `The address is suppressed (${row.suppressionReason}); no e-mail was sent`);
    }
    if (row.subject === null || row.text === null) return retryStop('NotRendered', 'The e-mail has not been rendered yet');
    if (!row.poolId) return failedStop('NoPool', `Tenant ${row.tenantId} has no usable sending pool`);

    const domain = await senders.get(row.tenantId);
    if (!domain) return failedStop('NoSendingDomain', `Tenant ${row.tenantId} has no sending domain`);
    const recipientDomain = row.email.split('@').pop() ?? '';
    // Pool, provider rules and reputation pick the IP; short waits are spent here, long ones in the workflow.
    const msg = { tenantId: row.tenantId, poolId: row.poolId, recipientDomain, mandatory: row.mandatory };
    const routed = await routeOrWait(() => chooseRoute(db, delivery, msg, topology), attempt);
    if ('waitUntil' in routed) {
      // Every IP the tenant may use is held back for this provider: the workflow waits on a
      // durable timer (however long), unless that is past the category's maximum age.
      const deadline = row.createdAt.getTime() + maxAgeOf(delivery.maxAges, row.category);
      if (routed.waitUntil > deadline)
        return failedStop(
          'TooLate',
          `No IP may send before ${new Date(routed.waitUntil).toISOString()}, past the ${row.category} maximum age: ${routed.reason}`,
        );
      await writeSteps(db, [
        {
          tenantId: row.tenantId,
          notificationId,
          step: 'email.waiting',
          detail: { until: new Date(routed.waitUntil).toISOString(), reason: routed.reason },
        },
      ]);
      return { kind: 'waiting', until: routed.waitUntil, ...(routed.provider ? { provider: routed.provider } : {}) };
    }
    const route = routed;

    const attemptId = randomUUID();
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
      envelopeFrom: returnPathFor(secrets, attemptId, returnPathDomain(domain.domain)),
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
    const outcome = await attempt.keepAlive(() => mailer.send(route.smtp, mail));
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
    const attemptRow = db.insert(deliveryAttempts).values({
      id: attemptId,
      notificationId,
      channel: 'email',
      attempt: attempt.number,
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
      detail: { attempt: attempt.number, sourceIp: route.sourceIp, provider: route.provider, domain: recipientDomain, responseCode },
    } as const;
    const completion =
      outcome.ok && deliveryCompletes
        ? { notificationId, tenantId: row.tenantId, status: 'delivered' as const, deliveredChannels: ['email'] }
        : undefined;
    // The attempt, its audit step and (when this send completes the notification) the final
    // status in one statement: one round trip, all or nothing.
    const steps = writeSteps(db, completion ? [step, finalStep(completion)] : [step]);
    // PostgreSQL restarting now would otherwise fail the activity, and its retry send the mail again.
    await writeThroughOutage(
      () =>
        db.execute(
          completion
            ? sql`with a as (${attemptRow.getSQL()}), s as (${finalStatusUpdate(db, completion).getSQL()}) ${steps.getSQL()}`
            : sql`with a as (${attemptRow.getSQL()}) ${steps.getSQL()}`,
        ),
      attempt.pause,
    );
    if (outcome.ok)
      return {
        kind: 'sent',
        attemptId,
        sourceIp: route.sourceIp,
        provider: route.provider,
        ...(completion ? { completion: { statusWebhook } } : {}),
      };
    // A reply that blames the IP (blocklist, rate limit) is retried from another IP, not bounced.
    if (verdict.retryElsewhere)
      return retryStop('IpRejected', `SMTP ${outcome.responseCode ?? 'error'} for ${route.sourceIp} at ${route.provider}: ${outcome.response}`, 100);
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
    return stopOf(outcome);
  }

  /** Delivers one notification's e-mail; a refusal from deep inside (route, tenant gate) comes back as its Stop. */
  return { deliverEmail: stopping(deliver) };
}

/** Waits shorter than this are spent inside the activity; longer ones go back to the workflow as a timer. */
const IN_ACTIVITY_WAIT_MS = 2_000;
/** At most this much of an activity is spent on short waits before the workflow takes over. */
const IN_ACTIVITY_WAIT_TOTAL_MS = 20_000;

/**
 * A route, or the time the earliest IP may send. Short waits (a send slot under the rate limit)
 * are slept here; a suspension or hold goes back as `waitUntil`: the retry policy is never spent on it.
 */
async function routeOrWait<R>(choose: () => Promise<R>, attempt: Attempt): Promise<R | { waitUntil: number; reason: string; provider?: string }> {
  let waited = 0;
  for (;;) {
    try {
      return await choose();
    } catch (err) {
      if (!(err instanceof Refusal) || (err.type !== 'NoIpAvailable' && err.type !== 'TenantHeld')) throw err;
      const delay = err.retryAfterMs ?? 1_000;
      if (delay > IN_ACTIVITY_WAIT_MS || waited + delay > IN_ACTIVITY_WAIT_TOTAL_MS)
        return { waitUntil: Date.now() + delay, reason: err.message, ...(err.provider ? { provider: err.provider } : {}) };
      await attempt.pause(delay);
      waited += delay;
    }
  }
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
  db: Db,
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

function stopOf(outcome: Extract<SmtpOutcome, { ok: false }>): Stop {
  // No reply: the engine's own wording (failure-text.ts), without the socket's error code.
  const message = outcome.responseCode ? `SMTP ${outcome.responseCode}: ${outcome.response}` : outcome.response;
  return outcome.kind === 'transient' ? retryStop('SmtpTransient', message) : failedStop('SmtpPermanent', message);
}
