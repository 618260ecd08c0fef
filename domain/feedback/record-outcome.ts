// One bounce or complaint, recorded the same way whether it came as a DSN, an ARF report, a
// provider's webhook or the receiving server's own 5xx at RCPT: the feedback event (reputation,
// monitoring), the suppression where the address is done for, the audit step, and the
// notification's shown status when the e-mail was what reached the user.
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { feedbackEvents, notifications } from '../../db/schema.js';
import { appendAudit } from '../audit/append.js';
import { recipientClasses, type BounceVerdict } from './bounce-class.js';
import { suppress } from './suppression.js';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0] | Db;

export interface FeedbackOutcome {
  kind: 'bounce' | 'complaint';
  tenantId: string;
  notificationId: string;
  attemptId: string | null;
  verdict?: BounceVerdict;
  /** The ARF feedback type for complaints; the bounce class otherwise. */
  cls: string;
  status: string | null;
  diagnostic: string | null;
  sourceIp: string | null;
  provider: string | null;
  /** dsn, arf, provider-webhook, smtp (the reply at RCPT or DATA) */
  source: string;
  /** The recipient's address, to suppress (null when the user has none any more). */
  email: string | null;
}

/** Whether this outcome ends the address: a complaint, or a hard bounce that names the recipient. */
export function suppresses(o: Pick<FeedbackOutcome, 'kind' | 'verdict'>): boolean {
  return o.kind === 'complaint' || (o.verdict?.type === 'hard' && recipientClasses.has(o.verdict.class));
}

/** Records it in the caller's transaction; returns whether the address was newly suppressed. */
export async function recordFeedbackOutcome(tx: Tx, o: FeedbackOutcome): Promise<{ suppressed: boolean; shownStatus?: 'bounced' | 'complained' }> {
  await tx.insert(feedbackEvents).values({
    kind: o.kind,
    tenantId: o.tenantId,
    notificationId: o.notificationId,
    attemptId: o.attemptId,
    bounceType: o.verdict?.type ?? null,
    class: o.cls,
    status: o.status,
    diagnostic: o.diagnostic,
    sourceIp: o.sourceIp,
    provider: o.provider,
    source: o.source,
  });
  const suppressed =
    o.email !== null && suppresses(o)
      ? await suppress(tx, {
          tenantId: o.tenantId,
          email: o.email,
          reason: o.kind === 'complaint' ? 'complaint' : 'hard_bounce',
          source: o.source,
          notificationId: o.notificationId,
          detail: o.kind === 'complaint' ? `feedback-type ${o.cls}` : `${o.status ?? ''} ${o.cls}`.trim(),
        })
      : false;
  await appendAudit(tx, {
    tenantId: o.tenantId,
    notificationId: o.notificationId,
    step: o.kind === 'complaint' ? 'email.complained' : `email.bounced.${o.verdict!.type}`,
    detail: { class: o.cls, status: o.status, sourceIp: o.sourceIp, provider: o.provider, source: o.source, suppressed },
  });
  // A notification that reached the user only by this e-mail now shows what became of it.
  const shown = o.kind === 'complaint' ? 'complained' : o.verdict?.type === 'hard' ? 'bounced' : undefined;
  if (!shown) return { suppressed };
  const changed = await tx
    .update(notifications)
    .set({ status: shown, updatedAt: new Date() })
    .where(
      and(
        eq(notifications.id, o.notificationId),
        sql`${notifications.status} in ('delivered', 'bounced')`,
        sql`${notifications.deliveredChannels} = array['email']::text[]`,
      ),
    )
    .returning({ id: notifications.id });
  return { suppressed, shownStatus: changed.length > 0 ? shown : undefined };
}
