import { Context } from '@temporalio/activity';
import { and, eq } from 'drizzle-orm';
import {
  deliveryAttempts,
  egressSources,
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
import { permanent, transient } from './failures.js';
import { withHeartbeat } from './heartbeat.js';
import { pickWeighted } from './pool/select-egress.js';

export function sendEmailActivities({ db, mailer, secrets }: ActivityDeps) {
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
        })
        .from(notifications)
        .innerJoin(users, eq(users.id, notifications.userId))
        .innerJoin(tenants, eq(tenants.id, notifications.tenantId))
        .leftJoin(pools, eq(pools.id, tenants.poolId))
        .leftJoin(renderedMessages, and(eq(renderedMessages.notificationId, notifications.id), eq(renderedMessages.channel, 'email')))
        .where(eq(notifications.id, notificationId));
      if (!row) throw permanent('NotFound', `Notification ${notificationId} not found`);
      if (!row.email) throw permanent('NoEmailAddress', 'The user has no e-mail address');
      if (row.subject === null || row.text === null) throw transient('NotRendered', 'The e-mail has not been rendered yet');
      if (!row.poolId || !row.relayHost || !row.relayPort) throw permanent('NoPool', `Tenant ${row.tenantId} has no usable sending pool`);

      const [domain] = await db.select().from(sendingDomains).where(eq(sendingDomains.tenantId, row.tenantId)).limit(1);
      if (!domain) throw permanent('NoSendingDomain', `Tenant ${row.tenantId} has no sending domain`);
      const sources = await db.select().from(egressSources).where(eq(egressSources.poolId, row.poolId));
      const egress = pickWeighted(sources);
      if (!egress) throw transient('NoEgressAvailable', `No egress source of pool ${row.poolId} may send now`);

      const mail = {
        from: `"${domain.fromName.replace(/"/g, '')}" <${domain.fromLocalPart}@${domain.domain}>`,
        to: row.email,
        subject: row.subject,
        html: row.html ?? '',
        text: row.text,
        messageId: `<${notificationId}@${domain.domain}>`,
        headers: { 'X-Notification-Id': notificationId },
        dkim: { domainName: domain.domain, keySelector: domain.dkimSelector, privateKey: secrets.decrypt(domain.dkimPrivateKeyEnc) },
      };
      const route = { host: row.relayHost, port: row.relayPort, localAddress: egress.localAddress, ehloName: egress.ehloName };
      const startedAt = new Date();
      const outcome = await withHeartbeat(() => mailer.send(route, mail));
      const recipientDomain = row.email.split('@').pop() ?? '';
      const attemptOutcome = outcome.ok ? 'accepted' : outcome.kind === 'transient' ? 'deferred' : 'failed';
      const responseCode = outcome.ok ? smtpCode(outcome.response) : outcome.responseCode ?? null;
      const attemptId = await db.transaction(async (tx) => {
        const [attempt] = await tx
          .insert(deliveryAttempts)
          .values({
            notificationId,
            channel: 'email',
            attempt: ctx.info.attempt,
            outcome: attemptOutcome,
            poolId: row.poolId,
            egressId: egress.id,
            sourceIp: egress.localAddress,
            target: recipientDomain,
            responseCode,
            response: outcome.response,
            startedAt,
          })
          .returning({ id: deliveryAttempts.id });
        await appendAudit(tx, {
          tenantId: row.tenantId,
          notificationId,
          step: `email.${attemptOutcome}`,
          detail: { attempt: ctx.info.attempt, sourceIp: egress.localAddress, domain: recipientDomain, responseCode },
        });
        return attempt!.id;
      });
      if (outcome.ok) return { attemptId, sourceIp: egress.localAddress };
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
