import { z } from '@hono/zod-openapi';
import { and, desc, eq, gte, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { notifications, users } from '../db/schema.js';
import { channels, notificationStatuses } from '../domain/notifications/status.js';
import { problems } from './problem.js';

// GET /v1/notifications: the tenant's notifications, newest first, filtered and paged by an
// opaque keyset cursor over (created_at, id). Each item is what GET /v1/notifications/{id}
// shows, less its attempts, feedback and schedule: no address, token or event data.

export const MAX_LIST_LIMIT = 100;

const instant = z.iso.datetime({ offset: true });

export const NotificationListQuery = z
  .object({
    status: z.enum(notificationStatuses).optional().describe('Only notifications in this status'),
    type: z.string().min(1).max(200).optional().describe('Only this notification type'),
    category: z.string().min(1).max(200).optional().describe('Only this category'),
    user: z.string().min(1).max(200).optional().describe("Only this user's (the app's own user id)"),
    channel: z.enum(channels).optional().describe('Only notifications that chose this channel (fallbacks included)'),
    from: instant.optional().describe('Created at or after this time (ISO 8601)'),
    to: instant.optional().describe('Created before this time (ISO 8601)'),
    limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(50).describe(`Items per page, at most ${MAX_LIST_LIMIT}`),
    cursor: z.string().max(200).optional().describe("The previous page's nextCursor"),
  })
  .strict();

export const NotificationListItem = z.object({
  id: z.uuid(),
  userId: z.string(),
  type: z.string(),
  category: z.string(),
  status: z.enum(notificationStatuses),
  channels: z.array(z.string()),
  deliveredChannels: z.array(z.string()),
  error: z.string().nullable(),
  workflowId: z.string(),
  templateVersion: z.number().int().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const NotificationList = z.object({
  notifications: z.array(NotificationListItem),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
});

/**
 * The cursor names the last item shown: its creation time in microseconds (Postgres keeps
 * microseconds; a JavaScript Date would round them and skip or repeat rows) and its id.
 */
interface Position {
  micros: string;
  id: string;
}

const encodeCursor = (p: Position) => Buffer.from(`${p.micros}.${p.id}`).toString('base64url');

function decodeCursor(cursor: string): Position {
  const m = /^(\d{1,17})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!m || encodeCursor({ micros: m[1]!, id: m[2]! }) !== cursor)
    throw problems.badRequest('cursor is not one this API returned: pass the nextCursor of the previous page as is');
  return { micros: m[1]!, id: m[2]! };
}

const createdMicros = sql<string>`(extract(epoch from ${notifications.createdAt}) * 1000000)::bigint::text`;

export async function listNotifications(
  db: Db,
  tenantId: string,
  q: z.infer<typeof NotificationListQuery>,
): Promise<z.infer<typeof NotificationList>> {
  if (q.from && q.to && Date.parse(q.from) >= Date.parse(q.to))
    throw problems.invalid('from must be before to', [{ path: 'query.from', message: 'must be before to' }]);
  const after = q.cursor ? decodeCursor(q.cursor) : undefined;
  const filters: (SQL | undefined)[] = [
    eq(notifications.tenantId, tenantId),
    q.status ? eq(notifications.status, q.status) : undefined,
    q.type ? eq(notifications.type, q.type) : undefined,
    q.category ? eq(notifications.categoryKey, q.category) : undefined,
    q.user ? eq(users.externalId, q.user) : undefined,
    q.channel ? sql`${q.channel} = any(${notifications.channels})` : undefined,
    q.from ? gte(notifications.createdAt, new Date(q.from)) : undefined,
    q.to ? lt(notifications.createdAt, new Date(q.to)) : undefined,
  ];
  if (after) {
    const at = sql`(timestamptz 'epoch' + ${after.micros}::bigint * interval '1 microsecond')`;
    filters.push(or(lt(notifications.createdAt, at), and(eq(notifications.createdAt, at), lt(notifications.id, after.id))));
  }
  const rows = await db
    .select({ n: notifications, userId: users.externalId, micros: createdMicros })
    .from(notifications)
    .innerJoin(users, eq(users.id, notifications.userId))
    .where(and(...filters))
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    notifications: page.map(({ n, userId }) => ({
      id: n.id,
      userId,
      type: n.type,
      category: n.categoryKey,
      status: n.status,
      channels: n.channels,
      deliveredChannels: n.deliveredChannels,
      error: n.error,
      workflowId: n.workflowId,
      templateVersion: n.templateVersion,
      createdAt: n.createdAt.toISOString(),
      updatedAt: n.updatedAt.toISOString(),
    })),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ micros: last.micros, id: last.n.id }) : null,
  };
}
