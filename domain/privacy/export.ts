import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import {
  auditEvents,
  deliveryAttempts,
  feedbackEvents,
  notifications,
  preferences,
  pushDevices,
  renderedMessages,
  suppressions,
  users,
} from '../../db/schema.js';
import { normaliseAddress } from '../feedback/suppression.js';
import { consentHistory } from './consent.js';

/** A device token shown in an export: enough to recognise it, not enough to push to it. */
export const maskToken = (token: string): string => (token.length <= 8 ? '…' : `${token.slice(0, 4)}…${token.slice(-4)}`);

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * GDPR arts. 15 and 20: everything the engine holds about one user, as one JSON document: the
 * profile, devices (tokens masked), current preferences and the consent history, and every
 * notification with its rendered content, delivery attempts, feedback events and audit steps.
 * Undefined: no such user.
 */
export async function exportUser(db: Db, tenantId: string, externalId: string) {
  const [user] = await db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.externalId, externalId)));
  if (!user) return undefined;
  const [devices, prefs, consent, notes, userAudit, suppressed] = await Promise.all([
    db.select().from(pushDevices).where(eq(pushDevices.userId, user.id)).orderBy(asc(pushDevices.createdAt)),
    db.select().from(preferences).where(eq(preferences.userId, user.id)).orderBy(asc(preferences.categoryKey)),
    consentHistory(db, tenantId, user.id),
    db.select().from(notifications).where(eq(notifications.userId, user.id)).orderBy(asc(notifications.createdAt)),
    db
      .select({ at: auditEvents.at, step: auditEvents.step, detail: auditEvents.detail })
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.tenantId, tenantId),
          isNull(auditEvents.notificationId),
          sql`${auditEvents.detail} ? 'userId'`,
          sql`${auditEvents.detail}->>'userId' = ${externalId}`,
        ),
      )
      .orderBy(asc(auditEvents.at)),
    user.email
      ? db
          .select({ reason: suppressions.reason, source: suppressions.source, createdAt: suppressions.createdAt })
          .from(suppressions)
          .where(and(eq(suppressions.tenantId, tenantId), eq(suppressions.email, normaliseAddress(user.email))))
      : Promise.resolve([]),
  ]);
  const ids = notes.map((n) => n.id);
  const [rendered, attempts, feedback, audit] = ids.length
    ? await Promise.all([
        db.select().from(renderedMessages).where(inArray(renderedMessages.notificationId, ids)),
        db.select().from(deliveryAttempts).where(inArray(deliveryAttempts.notificationId, ids)).orderBy(asc(deliveryAttempts.startedAt)),
        db.select().from(feedbackEvents).where(inArray(feedbackEvents.notificationId, ids)).orderBy(asc(feedbackEvents.receivedAt)),
        db
          .select({ notificationId: auditEvents.notificationId, at: auditEvents.at, step: auditEvents.step, detail: auditEvents.detail })
          .from(auditEvents)
          .where(inArray(auditEvents.notificationId, ids))
          .orderBy(asc(auditEvents.at), asc(auditEvents.id)),
      ])
    : [[], [], [], []];
  const of = <T extends { notificationId: string | null }>(rows: T[], id: string) => rows.filter((r) => r.notificationId === id);

  return {
    exportedAt: new Date().toISOString(),
    user: {
      userId: user.externalId,
      email: user.email,
      locale: user.locale,
      timezone: user.timezone,
      createdAt: iso(user.createdAt)!,
      updatedAt: iso(user.updatedAt)!,
    },
    devices: devices.map((d) => ({ id: d.id, token: maskToken(d.token), createdAt: iso(d.createdAt)! })),
    preferences: prefs.map((p) => ({ category: p.categoryKey, channels: p.channels, optedInAt: iso(p.optedInAt), updatedAt: iso(p.updatedAt)! })),
    consentHistory: consent,
    suppressions: suppressed.map((s) => ({ reason: s.reason, source: s.source, createdAt: iso(s.createdAt)! })),
    notifications: notes.map((n) => ({
      id: n.id,
      type: n.type,
      category: n.categoryKey,
      status: n.status,
      channels: n.channels,
      deliveredChannels: n.deliveredChannels,
      data: n.data as Record<string, unknown>,
      error: n.error,
      createdAt: iso(n.createdAt)!,
      updatedAt: iso(n.updatedAt)!,
      rendered: of(rendered, n.id).map((r) => ({ channel: r.channel, locale: r.locale, subject: r.subject, text: r.text, html: r.html })),
      attempts: of(attempts, n.id).map((a) => ({
        channel: a.channel,
        attempt: a.attempt,
        outcome: a.outcome,
        target: a.target,
        provider: a.provider,
        sourceIp: a.sourceIp,
        responseCode: a.responseCode,
        response: a.response,
        startedAt: iso(a.startedAt)!,
        finishedAt: iso(a.finishedAt)!,
      })),
      feedback: of(feedback, n.id).map((f) => ({
        kind: f.kind,
        bounceType: f.bounceType,
        class: f.class,
        status: f.status,
        diagnostic: f.diagnostic,
        source: f.source,
        receivedAt: iso(f.receivedAt)!,
      })),
      audit: of(audit, n.id).map((e) => ({ at: iso(e.at)!, step: e.step, detail: e.detail as Record<string, unknown> })),
    })),
    audit: userAudit.map((e) => ({ at: iso(e.at)!, step: e.step, detail: e.detail as Record<string, unknown> })),
  };
}

export type UserExport = NonNullable<Awaited<ReturnType<typeof exportUser>>>;
