import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { and, eq } from 'drizzle-orm';
import {
  categories,
  deliveryAttempts,
  notifications,
  pools,
  renderedMessages,
  sendingDomains,
  tenants,
  users,
} from '../db/schema.js';
import { appendAudit } from './audit.js';
import type { ActivityDeps } from './deps.js';
import type { SmtpOutcome } from './email/mailer.js';
import { returnPathFor } from './email/return-path.js';
import { listUnsubscribeHeaders, unsubscribeUrlFor } from './feedback/list-unsubscribe.js';
import { findSuppression } from './feedback/suppression.js';
import { permanent, transient } from './failures.js';
import { withHeartbeat } from './heartbeat.js';
import { defaultDeliveryDeps } from './pool/delivery-deps.js';
import { chooseRoute, finishRoute } from './pool/route.js';

export function sendEmailActivities({ db, mailer, secrets, publicUrl, logger, delivery: deliveryDeps }: ActivityDeps) {
  const delivery = deliveryDeps ?? defaultDeliveryDeps();
  return {
    /**
     * Sends the rendered e-mail, DKIM-signed with the tenant's key, from an egress source of the
     * tenant's pool. Each try is recorded as a delivery attempt. SMTP 4xx and connection errors
     * throw retryable; 5xx throws non-retryable so the workflow falls back.
     */
    async sendEmail({ notificationId }: { notificationId: string }): Promise<{ attemptId: string; sourceIp: string }> {
      const ctx = Context.current();
      const [row] = await db
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
          category: notifications.categoryKey,
          mandatory: categories.mandatory,
        })
        .from(notifications)
        .innerJoin(users, eq(users.id, notifications.userId))
        .innerJoin(tenants, eq(tenants.id, notifications.tenantId))
        .innerJoin(categories, and(eq(categories.tenantId, notifications.tenantId), eq(categories.key, notifications.categoryKey)))
        .leftJoin(pools, eq(pools.id, tenants.poolId))
        .leftJoin(renderedMessages, and(eq(renderedMessages.notificationId, notifications.id), eq(renderedMessages.channel, 'email')))
        .where(eq(notifications.id, notificationId));
      if (!row) throw permanent('NotFound', `Notification ${notificationId} not found`);
      if (!row.email) throw permanent('NoEmailAddress', 'The user has no e-mail address');
      // Hard-bounced, complained or unsubscribed addresses get nothing; the workflow uses the other channel.
      const suppression = await findSuppression(db, row.tenantId, row.email);
      if (suppression) {
        await appendAudit(db, { tenantId: row.tenantId, notificationId, step: 'email.suppressed', detail: { reason: suppression.reason, source: suppression.source } });
        throw permanent('Suppressed', `The address is suppressed (${suppression.reason}); no e-mail was sent`);
      }
      if (row.subject === null || row.text === null) throw transient('NotRendered', 'The e-mail has not been rendered yet');
      if (!row.poolId) throw permanent('NoPool', `Tenant ${row.tenantId} has no usable sending pool`);

      const [domain] = await db.select().from(sendingDomains).where(eq(sendingDomains.tenantId, row.tenantId)).limit(1);
      if (!domain) throw permanent('NoSendingDomain', `Tenant ${row.tenantId} has no sending domain`);
      const recipientDomain = row.email.split('@').pop() ?? '';
      // Pool, provider rules and reputation pick the source; waits come back as a retry delay.
      const egress = await chooseRoute(db, delivery, { tenantId: row.tenantId, poolId: row.poolId, recipientDomain });

      const plannedAttemptId = randomUUID();
      const mail = {
        from: `"${domain.fromName.replace(/"/g, '')}" <${domain.fromLocalPart}@${domain.domain}>`,
        to: row.email,
        subject: row.subject,
        html: row.html ?? '',
        text: row.text,
        messageId: `<${notificationId}@${domain.domain}>`,
        headers: { 'X-Notification-Id': notificationId, ...listUnsubscribeHeaders(unsubscribeUrlFor({ secrets, publicUrl }, row)) },
        // VERP: the return path names this attempt (signed), so a bounce finds it.
        envelopeFrom: returnPathFor(secrets, plannedAttemptId, domain.domain),
        dkim: { domainName: domain.domain, keySelector: domain.dkimSelector, privateKey: secrets.decrypt(domain.dkimPrivateKeyEnc) },
      };
      const route = egress.smtp;
      const startedAt = new Date();
      const outcome = await withHeartbeat(() => mailer.send(route, mail));
      // The mail has left: a failure to book its outcome must not make the activity send it again.
      const verdict = await finishRoute(db, delivery, egress, { tenantId: row.tenantId, notificationId }, outcome).catch((err: unknown) => {
        logger.warn({ err, notificationId, egressId: egress.egressId }, 'recording the send outcome for reputation failed');
        return { retryElsewhere: false, firedRules: [] };
      });
      const attemptOutcome = outcome.ok ? 'accepted' : outcome.kind === 'transient' ? 'deferred' : 'failed';
      const responseCode = outcome.ok ? smtpCode(outcome.response) : outcome.responseCode ?? null;
      const attemptId = await db.transaction(async (tx) => {
        const [attempt] = await tx
          .insert(deliveryAttempts)
          .values({
            id: plannedAttemptId,
            notificationId,
            channel: 'email',
            attempt: ctx.info.attempt,
            outcome: attemptOutcome,
            poolId: egress.poolId,
            egressId: egress.egressId,
            sourceIp: egress.sourceIp,
            target: recipientDomain,
            provider: egress.provider,
            responseCode,
            response: outcome.response,
            startedAt,
          })
          .returning({ id: deliveryAttempts.id });
        await appendAudit(tx, {
          tenantId: row.tenantId,
          notificationId,
          step: `email.${attemptOutcome}`,
          detail: { attempt: ctx.info.attempt, sourceIp: egress.sourceIp, provider: egress.provider, domain: recipientDomain, responseCode },
        });
        return attempt!.id;
      });
      if (outcome.ok) return { attemptId, sourceIp: egress.sourceIp };
      // A reply that blames the source (blocklist, rate limit) is retried from another source, not bounced.
      if (verdict.retryElsewhere) throw transient('SourceRejected', `SMTP ${outcome.responseCode ?? 'error'} for ${egress.sourceIp} at ${egress.provider}: ${outcome.response}`, 100);
      throw failureOf(outcome);
    },
  };
}

function smtpCode(response: string): number | null {
  const m = /^(\d{3})/.exec(response);
  return m ? Number(m[1]) : null;
}

function failureOf(outcome: Extract<SmtpOutcome, { ok: false }>) {
  const message = `SMTP ${outcome.responseCode ?? outcome.code ?? 'error'}: ${outcome.response}`;
  return outcome.kind === 'transient' ? transient('SmtpTransient', message) : permanent('SmtpPermanent', message);
}
