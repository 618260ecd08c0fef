import { and, eq } from 'drizzle-orm';
import { testSends, tenants } from '../db/schema.js';
import { appendAudit } from '../domain/audit/append.js';
import type { ActivityDeps } from './deps.js';
import { senderCache } from '../domain/email/sender.js';
import { permanent, transient } from './failures.js';
import { withHeartbeat } from './heartbeat.js';
import { defaultDeliveryDeps } from '../domain/pool/delivery-deps.js';
import { chooseRoute, finishRoute, poolTopology } from '../domain/pool/route.js';

/** Marks a test message so nobody takes it for a real alert, in the inbox and in filters. */
export const TEST_SUBJECT_PREFIX = '[TEST] ';
export const TEST_HEADER = 'X-Notiflow-Test';

export function testSendActivities({ db, mailer, secrets, delivery: deliveryDeps }: ActivityDeps) {
  const delivery = deliveryDeps ?? defaultDeliveryDeps();
  const senders = senderCache(db, secrets);
  const topology = poolTopology(db, 10_000);
  return {
    /** Sends a test message from the tenant's pool, DKIM-signed, and records the outcome (row + audit). */
    async sendTestEmail({ tenantId, testSendId }: { tenantId: string; testSendId: string }): Promise<{ status: string }> {
      const [row] = await db
        .select({ t: testSends, poolId: tenants.poolId })
        .from(testSends)
        .innerJoin(tenants, eq(tenants.id, testSends.tenantId))
        .where(and(eq(testSends.id, testSendId), eq(testSends.tenantId, tenantId)));
      if (!row) throw permanent('NotFound', `Test send ${testSendId} not found`);
      if (row.t.status === 'sent') return { status: 'sent' };
      if (!row.poolId) throw permanent('NoPool', `Tenant ${tenantId} has no usable sending pool`);
      const domain = await senders.get(tenantId);
      if (!domain) throw permanent('NoSendingDomain', `Tenant ${tenantId} has no sending domain`);
      const recipientDomain = row.t.to.split('@').pop() ?? '';
      const egress = await chooseRoute(db, delivery, { tenantId, poolId: row.poolId, recipientDomain }, topology);
      const outcome = await withHeartbeat(() =>
        mailer.send(egress.smtp, {
          from: `"${domain.fromName.replace(/"/g, '')}" <${domain.fromLocalPart}@${domain.domain}>`,
          to: row.t.to,
          subject: `${TEST_SUBJECT_PREFIX}${row.t.subject}`,
          html: row.t.html,
          text: row.t.text,
          messageId: `<test-${testSendId}@${domain.domain}>`,
          headers: { [TEST_HEADER]: `${row.t.typeKey} v${row.t.version}` },
          dkim: { domainName: domain.domain, keySelector: domain.dkimSelector, privateKey: domain.dkimPrivateKey },
        }),
      );
      await finishRoute(db, delivery, egress, { tenantId, notificationId: testSendId }, outcome);
      const status = outcome.ok ? 'sent' : outcome.kind === 'transient' ? 'accepted' : 'failed';
      await db.update(testSends).set({ status, response: outcome.response }).where(eq(testSends.id, testSendId));
      await appendAudit(db, {
        tenantId,
        step: `template.test_${outcome.ok ? 'sent' : 'refused'}`,
        detail: {
          testSendId,
          type: row.t.typeKey,
          version: row.t.version,
          sourceIp: egress.sourceIp,
          domain: recipientDomain,
          response: outcome.response,
        },
      });
      if (outcome.ok) return { status };
      if (outcome.kind === 'transient') throw transient('SmtpTransient', `SMTP ${outcome.responseCode ?? 'error'}: ${outcome.response}`);
      throw permanent('SmtpPermanent', `SMTP ${outcome.responseCode ?? 'error'}: ${outcome.response}`);
    },
  };
}
