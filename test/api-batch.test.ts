import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, notifications } from '../db/schema.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, transactionData } from './helpers/notify.js';

let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
  await putUser(engine, 'bob', { email: 'bob@example.com', locale: 'en' });
  await putUser(engine, 'carol', { email: 'carol@example.com', locale: 'fr' });
});
afterAll(async () => engine?.stop());

interface ItemResult {
  index: number;
  status: number;
  id?: string;
  replayed?: boolean;
  problem?: { type: string; status: number; detail: string; errors?: { path: string; message: string }[] };
}
interface BatchBody {
  accepted: number;
  rejected: number;
  results: ItemResult[];
}

const item = (idempotencyKey: string, userId: string, extra: Record<string, unknown> = {}) => ({
  idempotencyKey,
  userId,
  type: 'account.transaction',
  data: transactionData,
  ...extra,
});

async function batch(notificationsList: unknown[]) {
  const res = await engine.request('POST', '/v1/notifications/batch', { body: { notifications: notificationsList } });
  return { res, body: (await res.clone().json()) as BatchBody };
}

async function rowsForKeys(keys: string[]) {
  return engine.database.db
    .select({ id: notifications.id, key: notifications.idempotencyKey })
    .from(notifications)
    .where(and(eq(notifications.tenantId, engine.tenantId), inArray(notifications.idempotencyKey, keys)));
}

describe('POST /v1/notifications/batch', () => {
  it('accepts the valid items, answers each invalid one with its own problem, and delivers only the valid ones', async () => {
    const { res, body } = await batch([
      item('b1-ok-bob', 'bob'),
      item('b1-unknown-user', 'nobody'),
      item('b1-ok-carol', 'carol'),
      item('b1-bad-type', 'bob', { type: 'account.nope' }),
      item('b1-missing-data', 'bob', { data: { amount: 1 } }),
      { userId: 'bob', type: 'account.transaction', data: transactionData }, // no idempotency key
      item('b1-extra-field', 'bob', { priority: 'high' }),
    ]);
    expect(res.status).toBe(202);
    expect(body.accepted).toBe(2);
    expect(body.rejected).toBe(5);
    expect(body.results.map((r) => [r.index, r.status])).toEqual([
      [0, 202],
      [1, 422],
      [2, 202],
      [3, 422],
      [4, 422],
      [5, 422],
      [6, 422],
    ]);
    expect(body.results[1]!.problem).toMatchObject({
      type: 'https://notiflow.dev/problems/validation-error',
      status: 422,
      errors: [{ path: 'body.userId' }],
    });
    expect(body.results[3]!.problem!.errors).toEqual([{ path: 'body.type', message: 'unknown notification type' }]);
    expect(body.results[4]!.problem!.errors!.map((e) => e.path)).toEqual(['body.data.currency', 'body.data.merchant', 'body.data.accountLast4']);
    expect(body.results[5]!.problem!.errors![0]!.path).toBe('body.notifications.5.idempotencyKey');
    expect(body.results[6]!.problem!.detail).toMatch(/priority/);

    // Nothing was written for the rejected items: no notification row, no audit event.
    const rows = await rowsForKeys(['b1-ok-bob', 'b1-unknown-user', 'b1-ok-carol', 'b1-bad-type', 'b1-missing-data', 'b1-extra-field']);
    expect(rows.map((r) => r.key).sort()).toEqual(['b1-ok-bob', 'b1-ok-carol']);
    const accepted = await engine.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(auditEvents)
      .where(and(eq(auditEvents.tenantId, engine.tenantId), eq(auditEvents.step, 'notification.accepted')));
    expect(accepted[0]!.n).toBe(2);

    // The valid ones arrive at the SMTP server, one each.
    const ids = [body.results[0]!.id!, body.results[2]!.id!];
    for (const id of ids) expect((await settled(engine, id)).status).toBe('delivered');
    const mails = engine.inbox.messages.filter((m) => ids.includes(m.headers['x-notification-id'] ?? ''));
    expect(mails.map((m) => m.rcptTo[0]).sort()).toEqual(['bob@example.com', 'carol@example.com']);
  });

  it('treats a repeated key within a batch and across calls as a replay, and a reused key with another payload as a 422', async () => {
    const { body } = await batch([item('b2-a', 'bob'), item('b2-a', 'bob'), item('b2-a', 'carol'), item('b2-b', 'carol')]);
    expect(body.results.map((r) => r.status)).toEqual([202, 202, 422, 202]);
    expect(body.results[1]!.id).toBe(body.results[0]!.id);
    expect(body.results.map((r) => r.replayed)).toEqual([false, true, undefined, false]);
    expect(body.results[2]!.problem!.errors).toEqual([{ path: 'header.Idempotency-Key', message: 'reused with another payload' }]);

    // The same keys again in a later call: replays with the same ids, and a single POST sees them too.
    const again = await batch([item('b2-b', 'carol'), item('b2-a', 'bob')]);
    expect(again.body.results.map((r) => [r.status, r.id, r.replayed])).toEqual([
      [202, body.results[3]!.id, true],
      [202, body.results[0]!.id, true],
    ]);
    const single = await engine.request('POST', '/v1/notifications', {
      headers: { 'idempotency-key': 'b2-a' },
      body: { userId: 'bob', type: 'account.transaction', data: transactionData },
    });
    expect(single.status).toBe(202);
    expect(single.headers.get('idempotent-replayed')).toBe('true');
    expect(((await single.json()) as { id: string }).id).toBe(body.results[0]!.id);

    expect(await rowsForKeys(['b2-a', 'b2-b'])).toHaveLength(2);
    // One message per notification, however often it was triggered.
    for (const id of [body.results[0]!.id!, body.results[3]!.id!]) await settled(engine, id);
    const arrived = engine.inbox.messages.filter((m) => m.headers['x-notification-id'] === body.results[0]!.id);
    expect(arrived).toHaveLength(1);
  });

  it('leaves a key whose first use was refused free for its next use in the same batch', async () => {
    const { body } = await batch([item('b4-a', 'nobody'), item('b4-a', 'bob'), item('b4-a', 'bob')]);
    expect(body.results.map((r) => [r.status, r.replayed])).toEqual([
      [422, undefined],
      [202, false],
      [202, true],
    ]);
    expect(body.results[2]!.id).toBe(body.results[1]!.id);
    // One notification with one 'notification.accepted' event.
    expect(await rowsForKeys(['b4-a'])).toHaveLength(1);
    const events = await engine.database.db
      .select({ step: auditEvents.step, detail: auditEvents.detail })
      .from(auditEvents)
      .where(and(eq(auditEvents.notificationId, body.results[1]!.id!), eq(auditEvents.step, 'notification.accepted')));
    expect(events).toEqual([
      { step: 'notification.accepted', detail: { type: 'account.transaction', userId: 'bob', category: 'transactions', templateVersion: 1 } },
    ]);
    await settled(engine, body.results[1]!.id!);
  });

  it('refuses more than 1,000 items as a whole, writing nothing', async () => {
    const items = Array.from({ length: 1001 }, (_, i) => item(`b3-${i}`, 'bob'));
    const { res, body } = await batch(items);
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(body).toMatchObject({ type: 'https://notiflow.dev/problems/payload-too-large', status: 413 });
    expect(await rowsForKeys(items.map((i) => i.idempotencyKey))).toHaveLength(0);
  });

  it('answers a malformed envelope with a 4xx problem', async () => {
    const empty = await batch([]);
    expect(empty.res.status).toBe(422);
    const notArray = await engine.request('POST', '/v1/notifications/batch', { body: { notifications: 'x' } });
    expect(notArray.status).toBe(422);
    const bad = await engine.request('POST', '/v1/notifications/batch', { rawBody: '{"notifications": [' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/problem+json');
  });
});
