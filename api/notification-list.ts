import { z } from '@hono/zod-openapi';
import type { Db } from '../db/client.js';
import { decodeCursor, listNotifications } from '../domain/notifications/list.js';
import { channels, notificationStatuses } from '../domain/notifications/status.js';
import { problems } from './problem.js';

// GET /v1/notifications: the tenant's notifications, newest first, filtered and paged by an
// opaque keyset cursor over (created_at, id) (the query: domain/notifications/list.ts). Each item
// is what GET /v1/notifications/{id} shows, less its attempts, feedback and schedule: no address,
// token or event data.

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

export async function listTenantNotifications(
  db: Db,
  tenantId: string,
  q: z.infer<typeof NotificationListQuery>,
): Promise<z.infer<typeof NotificationList>> {
  if (q.from && q.to && Date.parse(q.from) >= Date.parse(q.to))
    throw problems.invalid('from must be before to', [{ path: 'query.from', message: 'must be before to' }]);
  const after = q.cursor ? decodeCursor(q.cursor) : undefined;
  if (q.cursor && !after) throw problems.badRequest('cursor is not one this API returned: pass the nextCursor of the previous page as is');
  const page = await listNotifications(db, {
    tenantId,
    status: q.status,
    type: q.type,
    category: q.category,
    user: q.user,
    channel: q.channel,
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
    limit: q.limit,
    after,
  });
  return {
    notifications: page.notifications.map(({ tenantId: _, ...n }) => ({
      ...n,
      createdAt: n.createdAt.toISOString(),
      updatedAt: n.updatedAt.toISOString(),
    })),
    nextCursor: page.nextCursor,
  };
}
