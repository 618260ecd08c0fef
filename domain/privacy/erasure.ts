import { and, arrayContains, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import {
  auditEvents,
  consentRecords,
  deliveryAttempts,
  feedbackEvents,
  feedbackRejects,
  digestItems,
  notifications,
  preferences,
  pushDevices,
  renderedMessages,
  suppressions,
  unsubscribeTokens,
  users,
} from '../../db/schema.js';
import { appendAudit } from '../audit/append.js';
import { normaliseAddress } from '../feedback/suppression.js';
import { suppressionHash } from './suppression-hash.js';

export interface ErasureResult {
  /** The user's internal id: what the audit trail and the pseudonymous notification rows keep. */
  userRef: string;
  notifications: number;
  /** Workflows of notifications still running, to be ended without sending. */
  runningWorkflowIds: string[];
  suppressionsKeptAsHash: number;
}

/** The one change the append-only trigger allows an erasure to make to an audit event. */
const ERASED = { erased: true };

/**
 * GDPR art. 17 in one transaction: removes the user's address, device tokens, preferences and
 * consent records, rendered messages, event data, provider responses and diagnostics that may
 * quote the address, and blanks the user's audit details (their digests keep the chain
 * verifiable). Notification rows stay as pseudonymous facts (type, status, channels, times) under
 * an "erased~<id>" user (no user id the API accepts); a suppressed address stays suppressed as a keyed hash. Running
 * notifications are marked cancelled here; the caller ends their workflows. Undefined: no such user.
 */
export async function eraseUser(db: Db, secrets: SecretBox, tenantId: string, externalId: string): Promise<ErasureResult | undefined> {
  return db.transaction(async (tx) => {
    // Lets the append-only triggers accept exactly the erasure's changes (see migration 0011).
    await tx.execute(sql`set local notiflow.erasure = 'on'`);
    const [user] = await tx
      .select()
      .from(users)
      .where(and(eq(users.tenantId, tenantId), eq(users.externalId, externalId)))
      .for('update');
    if (!user) return undefined;
    const notes = await tx
      .select({ id: notifications.id, workflowId: notifications.workflowId, status: notifications.status })
      .from(notifications)
      .where(eq(notifications.userId, user.id));
    const ids = notes.map((n) => n.id);
    const running = notes.filter((n) => n.status === 'accepted' || n.status === 'running');

    let kept = 0;
    if (user.email) {
      const address = normaliseAddress(user.email);
      const clear = await tx
        .delete(suppressions)
        .where(and(eq(suppressions.tenantId, tenantId), eq(suppressions.email, address)))
        .returning();
      for (const s of clear) {
        const added = await tx
          .insert(suppressions)
          .values({ tenantId, email: suppressionHash(secrets, tenantId, address), reason: s.reason, source: s.source, createdAt: s.createdAt })
          .onConflictDoNothing()
          .returning({ email: suppressions.email });
        kept += added.length;
      }
      // Rejected reports that quote the address (indexed): this tenant's, and those tied to no tenant.
      await tx
        .delete(feedbackRejects)
        .where(
          and(arrayContains(feedbackRejects.recipients, [address]), or(isNull(feedbackRejects.tenantId), eq(feedbackRejects.tenantId, tenantId))),
        );
    }
    if (ids.length) {
      // Items waiting in a digest leave it: their window closes without them (an empty one sends nothing).
      await tx.delete(digestItems).where(and(eq(digestItems.userId, user.id), isNull(digestItems.digestId)));
      await tx.delete(renderedMessages).where(inArray(renderedMessages.notificationId, ids));
      await tx.update(deliveryAttempts).set({ response: null }).where(inArray(deliveryAttempts.notificationId, ids));
      await tx.update(feedbackEvents).set({ diagnostic: null }).where(inArray(feedbackEvents.notificationId, ids));
      await tx
        .update(notifications)
        .set({
          data: {},
          requestHash: 'erased',
          error: null,
          status: sql`case when ${notifications.status} in ('accepted', 'running', 'batched') then 'cancelled' else ${notifications.status} end`,
          updatedAt: new Date(),
        })
        .where(eq(notifications.userId, user.id));
    }
    await tx.delete(pushDevices).where(eq(pushDevices.userId, user.id));
    await tx.delete(unsubscribeTokens).where(eq(unsubscribeTokens.userId, user.id));
    await tx.delete(preferences).where(eq(preferences.userId, user.id));
    await tx.delete(consentRecords).where(eq(consentRecords.userId, user.id));
    // Audit details that name the user are blanked; their digests keep the chain verifiable.
    const namesUser = sql`${auditEvents.detail} ? 'userId'`;
    await tx
      .update(auditEvents)
      .set({ detail: ERASED })
      .where(
        and(eq(auditEvents.tenantId, tenantId), isNull(auditEvents.notificationId), namesUser, sql`${auditEvents.detail}->>'userId' = ${externalId}`),
      );
    if (ids.length)
      await tx
        .update(auditEvents)
        .set({ detail: ERASED })
        .where(and(inArray(auditEvents.notificationId, ids), namesUser));
    await tx
      .update(users)
      .set({ email: null, externalId: `erased~${user.id}`, locale: 'en', timezone: 'UTC', updatedAt: new Date() })
      .where(eq(users.id, user.id));
    await appendAudit(tx, {
      tenantId,
      step: 'user.erased',
      detail: { userRef: user.id, notifications: ids.length, cancelled: running.length, suppressionsKeptAsHash: kept },
    });
    return { userRef: user.id, notifications: ids.length, runningWorkflowIds: running.map((n) => n.workflowId), suppressionsKeptAsHash: kept };
  });
}
