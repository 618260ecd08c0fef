import { Resolver } from 'node:dns/promises';
import { and, eq, inArray, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { sendingDomains, tenants } from '../../db/schema.js';
import { defaultDomainSettings, rotateDkim, verifyDomain } from '../sending-domains/service.js';
import type { SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import type { DomainSettings } from '../sending-domains/service.js';
import type { TxtResolver } from '../sending-domains/verify.js';
import { transient } from '../failures/refusal.js';
import { postSigned } from '../webhooks/post.js';
import type { EgressPolicy } from '../webhooks/egress.js';
import { webhookSecretOf } from '../webhooks/tenant-secret.js';
import { raiseAlarm, resolveAlarm } from './alarms.js';

export interface DomainCheckReport {
  checked: number;
  /** Verified domains whose records no longer pass. */
  regressed: { tenantId: string; domain: string }[];
  /** Scheduled DKIM rotations started by this run. */
  rotated: { tenantId: string; domain: string }[];
  newAlarms: string[];
}

export type DomainEvent = { type: 'domain.dns_regressed' | 'domain.dkim_rotation_started'; tenantId: string; domain: string };

/** The daily check of sending domains (run by the domain-check Schedule's activities). */
export function domainChecks({
  db,
  secrets,
  domains,
  egress,
}: {
  db: Db;
  secrets: SecretBox;
  domains?: { settings: DomainSettings; resolver: TxtResolver };
  egress?: EgressPolicy;
}) {
  const settings = domains?.settings ?? defaultDomainSettings;
  const resolver = domains?.resolver ?? new Resolver({ timeout: 2_000, tries: 2 });
  return {
    /**
     * Re-checks every verified (or regressed) domain's records; a regression raises an alarm and
     * is reported for the tenant's webhook, a recovery closes the alarm. Starts scheduled DKIM rotations.
     */
    async checkSendingDomains(): Promise<DomainCheckReport> {
      const report: DomainCheckReport = { checked: 0, regressed: [], rotated: [], newAlarms: [] };
      const rows = await db
        .select({ tenantId: sendingDomains.tenantId, domain: sendingDomains.domain })
        .from(sendingDomains)
        .where(inArray(sendingDomains.status, ['verified', 'failing']));
      for (const r of rows) {
        const outcome = await verifyDomain(db, resolver, settings, r.tenantId, r.domain, 'schedule');
        report.checked++;
        const scope = `domain:${r.domain}`;
        if (outcome.regressed) {
          report.regressed.push(r);
          const failing = outcome.checks.filter((c) => c.required && c.status !== 'ok');
          const id = await raiseAlarm(db, {
            kind: 'domain-dns',
            scope,
            severity: 'alarm',
            message: `DNS records of ${r.domain} (tenant ${r.tenantId}) no longer verify: ${failing.map((c) => `${c.purpose} ${c.status}`).join(', ')}`,
            detail: {
              tenantId: r.tenantId,
              domain: r.domain,
              records: failing.map((c) => ({ purpose: c.purpose, host: c.host, status: c.status, message: c.message })),
            },
          });
          if (id) report.newAlarms.push(id);
        } else if (outcome.view.status === 'verified') {
          await resolveAlarm(db, 'domain-dns', scope);
        }
      }
      const due = await db
        .select({ tenantId: sendingDomains.tenantId, domain: sendingDomains.domain })
        .from(sendingDomains)
        .where(
          and(
            isNotNull(sendingDomains.rotateEveryDays),
            isNull(sendingDomains.pendingSelector),
            lt(sendingDomains.dkimCreatedAt, sql`now() - make_interval(days => ${sendingDomains.rotateEveryDays})`),
          ),
        );
      for (const d of due) {
        await rotateDkim(db, secrets, settings, d.tenantId, d.domain, 'schedule');
        report.rotated.push(d);
      }
      return report;
    },

    /** Tells the tenant's status webhook about its domain (regressed records, a rotation to publish); retried until acknowledged. */
    async postDomainEvent(event: DomainEvent): Promise<{ posted: boolean }> {
      const [t] = await db.select({ url: tenants.statusWebhookUrl }).from(tenants).where(eq(tenants.id, event.tenantId));
      const [d] = await db
        .select({ lastCheck: sendingDomains.lastCheck, pendingSelector: sendingDomains.pendingSelector })
        .from(sendingDomains)
        .where(eq(sendingDomains.domain, event.domain));
      if (!t?.url || !d) return { posted: false };
      const checks = (d.lastCheck as { purpose: string; host: string; status: string; message: string }[] | null) ?? [];
      // Signed like the status webhooks: with the secret the tenant was issued (or its derived one).
      const secret = await webhookSecretOf(db, secrets, event.tenantId);
      const result = await postSigned(
        t.url,
        secret,
        {
          type: event.type,
          domain: event.domain,
          records: checks
            .filter((c) => event.type !== 'domain.dns_regressed' || c.status !== 'ok')
            .map((c) => ({ purpose: c.purpose, host: c.host, status: c.status, message: c.message })),
          ...(event.type === 'domain.dkim_rotation_started' ? { pendingSelector: d.pendingSelector } : {}),
          at: new Date().toISOString(),
        },
        { egress },
      );
      if (!result.ok) throw transient('WebhookNotAcknowledged', `Tenant webhook answered ${result.status ?? result.error}`);
      return { posted: true };
    },
  };
}
