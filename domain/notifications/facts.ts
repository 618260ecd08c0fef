import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { categories, notifications, pools, preferences, renderedMessages, suppressions, tenants, users } from '../../db/schema.js';
import type { QuietWindow } from './quiet-hours.js';
import type { Channel } from './status.js';

// What a notification's steps need to know about it, in ONE query: the notification with its
// user, tenant and category, and (left) the user's preference, the tenant's pool, the message
// rendered for one channel and the address's suppression. Every step (prepare, render, send,
// status webhook) reads its facts here.

/**
 * The facts of one notification, or undefined when it is not recorded (yet). The query is built
 * once per caller (a worker's activities): drizzle's query building costs more CPU than the query.
 */
export function notificationFacts(db: Db): (id: string, rendered?: Channel) => Promise<NotificationFacts | undefined> {
  const query = factsQuery(db);
  return async (id, rendered = 'email') => (await query.execute({ id, channel: rendered }))[0];
}

function factsQuery(db: Db) {
  return (
    db
      .select(columns)
      .from(notifications)
      .innerJoin(users, eq(users.id, notifications.userId))
      .innerJoin(tenants, eq(tenants.id, notifications.tenantId))
      .innerJoin(categories, and(eq(categories.tenantId, notifications.tenantId), eq(categories.key, notifications.categoryKey)))
      .leftJoin(preferences, and(eq(preferences.userId, notifications.userId), eq(preferences.categoryKey, notifications.categoryKey)))
      .leftJoin(pools, eq(pools.id, tenants.poolId))
      .leftJoin(
        renderedMessages,
        and(eq(renderedMessages.notificationId, notifications.id), eq(renderedMessages.channel, sql.placeholder('channel'))),
      )
      // Suppressions are stored normalised (see domain/feedback/suppression.ts normaliseAddress).
      .leftJoin(suppressions, and(eq(suppressions.tenantId, notifications.tenantId), eq(suppressions.email, sql`lower(btrim(${users.email}))`)))
      .where(eq(notifications.id, sql.placeholder('id')))
      .prepare('notification_facts')
  );
}

/** What rendering a message needs. */
const renderColumns = {
  notificationId: notifications.id,
  tenantId: notifications.tenantId,
  tenantName: tenants.name,
  type: notifications.type,
  data: notifications.data,
  locale: users.locale,
  timezone: users.timezone,
  userId: notifications.userId,
  category: notifications.categoryKey,
  mandatory: categories.mandatory,
  requiresOptIn: categories.requiresOptIn,
  templateVersion: notifications.templateVersion,
  /** A digest notification: how many items it carries (null: an ordinary one). */
  digestItems: sql<number | null>`(select dg.item_count from digests dg where dg.id = ${notifications.id})`,
};

/** What deciding the channels needs (with the render columns: the chosen ones are rendered at once). */
const planColumns = {
  ...renderColumns,
  hasEmail: sql<boolean>`${users.email} is not null`,
  devices: sql<number>`(select count(*)::int from push_devices d where d.user_id = ${notifications.userId})`,
  defaults: categories.defaultChannels,
  allowFallback: categories.allowFallback,
  chosen: preferences.channels,
  optedInAt: preferences.optedInAt,
  // The user's own quiet hours, else the tenant's default (the row without a user).
  quiet: sql<QuietWindow | null>`(select json_build_object('starts', q.starts, 'ends', q.ends) from quiet_hours q
        where q.tenant_id = ${notifications.tenantId} and (q.user_id = ${notifications.userId} or q.user_id is null)
        order by q.user_id nulls last limit 1)`,
};

/** Whether the tenant wants outcomes posted to its status webhook, and whether it may send at all. */
const tenantColumns = {
  tenantId: notifications.tenantId,
  userId: notifications.userId,
  triggeredAt: notifications.createdAt,
  statusWebhookUrl: tenants.statusWebhookUrl,
  tenantStatus: tenants.status,
  tenantStatusReason: tenants.statusReason,
};

/** What sending the e-mail needs (rendered: 'email'). */
const emailColumns = {
  ...tenantColumns,
  email: users.email,
  subject: renderedMessages.subject,
  html: renderedMessages.html,
  text: renderedMessages.text,
  poolId: tenants.poolId,
  relayHost: pools.relayHost,
  relayPort: pools.relayPort,
  createdAt: notifications.createdAt,
  type: notifications.type,
  category: notifications.categoryKey,
  mandatory: categories.mandatory,
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
};

/** What sending the push needs (rendered: 'push'). */
const pushColumns = {
  ...tenantColumns,
  title: renderedMessages.subject,
  body: renderedMessages.text,
};

/** What the tenant's status webhook reports. */
const webhookColumns = {
  userExternalId: users.externalId,
  deliveredChannels: notifications.deliveredChannels,
  error: notifications.error,
};

const columns = { ...planColumns, ...emailColumns, ...pushColumns, ...webhookColumns };

export type NotificationFacts = Awaited<ReturnType<ReturnType<typeof factsQuery>['execute']>>[number];

/** The facts rendering a message reads (domain/notifications/render.ts). */
export type RenderFacts = Pick<NotificationFacts, keyof typeof renderColumns>;
