import { and, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { notifications, users } from '../../db/schema.js';
import type { Channel, NotificationStatus } from './status.js';

// The message log: notifications newest first, filtered, paged by an opaque keyset cursor over
// (created_at, id). The tenant API (GET /v1/notifications) always names its tenant; the operator
// console may leave it out to read across tenants. No address, token or event data is read.

export interface NotificationFilter {
  /** Absent: every tenant (the operator console only). */
  tenantId?: string;
  status?: NotificationStatus;
  type?: string;
  category?: string;
  /** The app's own user id. */
  user?: string;
  channel?: Channel;
  from?: Date;
  to?: Date;
  limit: number;
  /** The position after which the page starts (from decodeCursor). */
  after?: Position;
}

export interface ListedNotification {
  id: string;
  tenantId: string;
  userId: string;
  type: string;
  category: string;
  status: NotificationStatus;
  channels: string[];
  deliveredChannels: string[];
  error: string | null;
  workflowId: string;
  templateVersion: number | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A cursor names the last item shown: its creation time in microseconds (Postgres keeps
 * microseconds; a JavaScript Date would round them and skip or repeat rows) and its id.
 */
export interface Position {
  micros: string;
  id: string;
}

const encodeCursor = (p: Position) => Buffer.from(`${p.micros}.${p.id}`).toString('base64url');

/** The position a cursor of this log names; undefined when it is not one the log gave out. */
export function decodeCursor(cursor: string): Position | undefined {
  const m = /^(\d{1,17})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!m || encodeCursor({ micros: m[1]!, id: m[2]! }) !== cursor) return undefined;
  return { micros: m[1]!, id: m[2]! };
}

const createdMicros = sql<string>`(extract(epoch from ${notifications.createdAt}) * 1000000)::bigint::text`;

/** The page's statement (one more row than the page, to know whether another follows). */
export function notificationLogQuery(db: Db, f: NotificationFilter) {
  const filters: (SQL | undefined)[] = [
    f.tenantId !== undefined ? eq(notifications.tenantId, f.tenantId) : undefined,
    f.status ? eq(notifications.status, f.status) : undefined,
    f.type ? eq(notifications.type, f.type) : undefined,
    f.category ? eq(notifications.categoryKey, f.category) : undefined,
    f.user ? eq(users.externalId, f.user) : undefined,
    f.channel ? sql`${f.channel} = any(${notifications.channels})` : undefined,
    f.from ? gte(notifications.createdAt, f.from) : undefined,
    f.to ? lt(notifications.createdAt, f.to) : undefined,
  ];
  if (f.after) {
    const at = sql`(timestamptz 'epoch' + ${f.after.micros}::bigint * interval '1 microsecond')`;
    // A row comparison: the index scan starts at the cursor instead of reading past every earlier page.
    filters.push(sql`(${notifications.createdAt}, ${notifications.id}) < (${at}, ${f.after.id}::uuid)`);
  }
  return (
    db
      .select({
        id: notifications.id,
        tenantId: notifications.tenantId,
        userId: users.externalId,
        type: notifications.type,
        category: notifications.categoryKey,
        status: notifications.status,
        channels: notifications.channels,
        deliveredChannels: notifications.deliveredChannels,
        error: notifications.error,
        workflowId: notifications.workflowId,
        templateVersion: notifications.templateVersion,
        createdAt: notifications.createdAt,
        updatedAt: notifications.updatedAt,
        micros: createdMicros,
      })
      .from(notifications)
      .innerJoin(users, eq(users.id, notifications.userId))
      .where(and(...filters))
      // "nulls last" as the indexes are built (both columns are not null): plain DESC means nulls
      // first, which no index here serves, and Postgres would sort every matching row.
      .orderBy(sql`${notifications.createdAt} desc nulls last, ${notifications.id} desc nulls last`)
      .limit(f.limit + 1)
  );
}

export async function listNotifications(db: Db, f: NotificationFilter): Promise<{ notifications: ListedNotification[]; nextCursor: string | null }> {
  const rows = await notificationLogQuery(db, f);
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  return {
    notifications: page.map(({ micros: _, ...n }) => n),
    nextCursor: rows.length > f.limit && last ? encodeCursor({ micros: last.micros, id: last.id }) : null,
  };
}
