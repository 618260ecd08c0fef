import { and, eq } from 'drizzle-orm';
import { testSends, tenants } from '../db/schema.js';
import { appendAudit } from '../domain/audit/append.js';
import type { ActivityDeps } from './deps.js';
import { returnPathFor } from '../domain/email/return-path.js';
import { senderCache } from '../domain/email/sender.js';
import { findSuppression, suppressionApplies } from '../domain/feedback/suppression.js';
import { permanent, transient } from './failures.js';
import { withHeartbeat } from './heartbeat.js';
import { defaultDeliveryDeps } from '../domain/pool/delivery-deps.js';
import { chooseRoute, finishRoute, poolTopology } from '../domain/pool/route.js';
import { canSendFromDomain } from '../domain/sending-domains/service.js';
import { returnPathDomain } from '../domain/sending-domains/records.js';
import { tenantGate } from '../domain/notifications/tenant-gate.js';
import { isConfirmedTestRecipient } from '../domain/test-sends/recipients.js';

/** Marks a test message so nobody takes it for a real alert, in the inbox and in filters. */
export const TEST_SUBJECT_PREFIX = '[TEST] ';
export const TEST_HEADER = 'X-Notiflow-Test';

export function testSendActivities({ db, mailer, secrets, delivery: deliveryDeps }: ActivityDeps) {
  const delivery = deliveryDeps ?? defaultDeliveryDeps();
  const senders = senderCache(db, secrets);
  const topology = poolTopology(db, 10_000);
  return {
    /**
     * Sends a test message as a notification's e-mail would go: only while the tenant may send
     * (gate, a DKIM-verified domain), only to a confirmed test recipient that is not suppressed,
     * DKIM-signed with the VERP return path, from the tenant's pool. Records the outcome (row + audit).
     */
    async sendTestEmail({
      tenantId,
      testSendId,
    }: {
      tenantId: string;
      testSendId: string;
    }): Promise<{ status: string; sourceIp?: string; provider?: string }> {
      const [row] = await db
        .select({ t: testSends, poolId: tenants.poolId, tenantStatus: tenants.status, tenantStatusReason: tenants.statusReason })
        .from(testSends)
        .innerJoin(tenants, eq(tenants.id, testSends.tenantId))
        .where(and(eq(testSends.id, testSendId), eq(testSends.tenantId, tenantId)));
      if (!row) throw permanent('NotFound', `Test send ${testSendId} not found`);
      if (row.t.status === 'sent') return { status: 'sent' };
      const recipientDomain = row.t.to.split('@').pop() ?? '';
      const audited = { testSendId, purpose: row.t.purpose, type: row.t.typeKey, version: row.t.version, domain: recipientDomain };
      // What changed since the API accepted it stops it here, as it would stop a notification.
      const stop = async (type: string, reason: string, message: string): Promise<never> => {
        await db.update(testSends).set({ status: 'failed', response: message }).where(eq(testSends.id, testSendId));
        await appendAudit(db, { tenantId, step: 'template.test_stopped', detail: { ...audited, reason } });
        throw permanent(type, message);
      };
      await tenantGate(db, { tenantId, tenantStatus: row.tenantStatus, tenantStatusReason: row.tenantStatusReason }, testSendId, 'email');
      const sendable = await canSendFromDomain(db, tenantId);
      if (!sendable.ok) await stop('NoVerifiedDomain', 'unverified_domain', sendable.detail);
      if (row.t.purpose === 'template' && !(await isConfirmedTestRecipient(db, tenantId, row.t.to)))
        await stop('NotTestRecipient', 'not_test_recipient', 'The address is no longer a confirmed test recipient; nothing was sent');
      const suppressed = await findSuppression(db, tenantId, row.t.to);
      if (suppressed && suppressionApplies(suppressed.reason, false))
        await stop('Suppressed', 'suppressed', `The address is suppressed (${suppressed.reason}); nothing was sent`);
      if (!row.poolId) throw permanent('NoPool', `Tenant ${tenantId} has no usable sending pool`);
      const domain = await senders.get(tenantId);
      if (!domain) throw permanent('NoSendingDomain', `Tenant ${tenantId} has no sending domain`);
      const egress = await chooseRoute(db, delivery, { tenantId, poolId: row.poolId, recipientDomain }, topology);
      const outcome = await withHeartbeat(() =>
        mailer.send(egress.smtp, {
          from: `"${domain.fromName.replace(/"/g, '')}" <${domain.fromLocalPart}@${domain.domain}>`,
          to: row.t.to,
          subject: `${TEST_SUBJECT_PREFIX}${row.t.subject}`,
          html: row.t.html,
          text: row.t.text,
          messageId: `<test-${testSendId}@${domain.domain}>`,
          headers: { [TEST_HEADER]: row.t.purpose === 'template' ? `${row.t.typeKey} v${row.t.version}` : 'recipient confirmation' },
          // Bounces come back to the engine (the return-path subdomain), never to the From domain's mailbox.
          envelopeFrom: returnPathFor(secrets, testSendId, returnPathDomain(domain.domain)),
          dkim: { domainName: domain.domain, keySelector: domain.dkimSelector, privateKey: domain.dkimPrivateKey },
        }),
      );
      await finishRoute(db, delivery, egress, { tenantId, notificationId: testSendId }, outcome);
      const status = outcome.ok ? 'sent' : outcome.kind === 'transient' ? 'accepted' : 'failed';
      await db.update(testSends).set({ status, response: outcome.response }).where(eq(testSends.id, testSendId));
      await appendAudit(db, {
        tenantId,
        step: `template.test_${outcome.ok ? 'sent' : 'refused'}`,
        detail: { ...audited, sourceIp: egress.sourceIp, response: outcome.response },
      });
      if (outcome.ok) return { status, sourceIp: egress.sourceIp, provider: egress.provider };
      if (outcome.kind === 'transient') throw transient('SmtpTransient', `SMTP ${outcome.responseCode ?? 'error'}: ${outcome.response}`);
      throw permanent('SmtpPermanent', `SMTP ${outcome.responseCode ?? 'error'}: ${outcome.response}`);
    },
  };
}
