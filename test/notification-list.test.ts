import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, notificationLogQuery, type NotificationFilter } from '../domain/notifications/list.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, transactionData, trigger } from './helpers/notify.js';

// GET /v1/notifications against real Postgres through the API: filters, keyset pages, tenant isolation.

let engine: TestEngine;
let other: { tenantId: string; apiKey: string };
const apiRows: string[] = [];
const failedRows: string[] = [];
const otherRows: string[] = [];
const HOUR_AGO = new Date(Date.now() - 3_600_000);

type Page = { notifications: { id: string; userId: string; status: string; type: string; createdAt: string }[]; nextCursor: string | null };

/** Rows written as the engine writes them, for volumes and ties the API path would take long to make. */
async function insertRows(tenantId: string, externalId: string, n: number, at: Date): Promise<string[]> {
  const [user] = await engine.database.sql<{ id: string }[]>`
    insert into users (tenant_id, external_id, email) values (${tenantId}, ${externalId}, ${`${externalId}@list.example`})
    on conflict (tenant_id, external_id) do update set external_id = excluded.external_id returning id`;
  const ids = Array.from({ length: n }, () => randomUUID());
  for (const id of ids)
    await engine.database.sql`
      insert into notifications (id, tenant_id, user_id, type, category_key, idempotency_key, request_hash, workflow_id, data, status, channels, error, created_at)
      values (${id}, ${tenantId}, ${user!.id}, 'account.transaction', 'transactions', ${`list-${id}`}, 'h', ${`notification:${tenantId}:${id}`},
              ${JSON.stringify({ merchant: 'Secret Merchant' })}::jsonb, 'failed', '{push}', 'push: tokens invalid', ${at.toISOString()}::timestamptz)`;
  return ids;
}

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
  other = await engine.addTenant();
  await putUser(engine, 'lena', { email: 'lena.list@example.fr' }, { transactions: ['email'] });
  await putUser(engine, 'mia', { email: 'mia.list@example.fr' });
  apiRows.push(await trigger(engine, 'lena', 'list-1'), await trigger(engine, 'lena', 'list-2'));
  apiRows.push(await trigger(engine, 'mia', 'list-3', 'account.low_balance', { balance: 3, currency: 'EUR', threshold: 10 }));
  for (const id of apiRows) await settled(engine, id);
  // 25 rows created in the same microsecond: pages must split a tie without a gap or a repeat.
  failedRows.push(...(await insertRows(engine.tenantId, 'nils', 25, HOUR_AGO)));
  otherRows.push(...(await insertRows(other.tenantId, 'lena', 5, HOUR_AGO)));
}, 180_000);
afterAll(async () => engine?.stop());

const list = async (query: string, key?: string) => {
  const res = await engine.request('GET', `/v1/notifications?${query}`, key ? { key } : {});
  return res;
};
const page = async (query: string, key?: string): Promise<Page> => {
  const res = await list(query, key);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Page;
};
async function all(query: string, limit: number, key?: string): Promise<Page['notifications']> {
  const items: Page['notifications'] = [];
  let cursor: string | null = null;
  do {
    const p: Page = await page(`${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, key);
    expect(p.notifications.length).toBeLessThanOrEqual(limit);
    items.push(...p.notifications);
    cursor = p.nextCursor;
  } while (cursor);
  return items;
}

describe('GET /v1/notifications', () => {
  it("pages through every one of the tenant's notifications, newest first, without duplicates or gaps", async () => {
    const items = await all('', 7);
    const ids = items.map((i) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
    const [{ n }] = (await engine.database.sql`select count(*)::int as n from notifications where tenant_id = ${engine.tenantId}`) as unknown as [
      { n: number },
    ];
    expect(ids).toHaveLength(n);
    expect(ids).toEqual(expect.arrayContaining([...apiRows, ...failedRows]));
    const times = items.map((i) => Date.parse(i.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    for (const id of otherRows) expect(ids).not.toContain(id);
  });

  it('filters by status, type, category, user, channel and time', async () => {
    const ids = async (q: string) => (await all(q, 100)).map((i) => i.id).sort();
    expect(await ids('status=failed')).toEqual([...failedRows].sort());
    expect(await ids('user=mia')).toEqual([apiRows[2]]);
    expect(await ids('user=lena')).toEqual([apiRows[0], apiRows[1]].sort());
    expect(await ids('type=account.low_balance')).toEqual([apiRows[2]]);
    expect(await ids('category=balance')).toEqual([apiRows[2]]);
    expect(await ids('channel=push')).toEqual([...failedRows].sort());
    expect(await ids('channel=email&user=lena')).toEqual([apiRows[0], apiRows[1]].sort());
    const around = (ms: number) => encodeURIComponent(new Date(HOUR_AGO.getTime() + ms).toISOString());
    expect(await ids(`from=${around(-1000)}&to=${around(1000)}`)).toEqual([...failedRows].sort());
    expect(await ids(`from=${around(1000)}`)).toEqual([...apiRows].sort());
    expect(await ids('user=nobody')).toEqual([]);
  });

  it("never shows another tenant's notifications, and no address or event data", async () => {
    const theirs = await all('', 2, other.apiKey);
    expect(theirs.map((i) => i.id).sort()).toEqual([...otherRows].sort());
    // 'lena' is a user of both tenants: the filter stays within the caller's.
    expect((await all('user=lena', 100, other.apiKey)).map((i) => i.id).sort()).toEqual([...otherRows].sort());
    const text = await (await list('limit=100')).text();
    for (const p of ['lena.list@example.fr', 'mia.list@example.fr', '@list.example', transactionData.merchant, 'Secret Merchant'])
      expect(text).not.toContain(p);
  });

  it('refuses a bad cursor (400) and bad filters (422) as problems', async () => {
    const first = await page('limit=1');
    const cursor = first.nextCursor!;
    for (const [query, status] of [
      ['cursor=not-a-cursor', 400],
      [`cursor=${encodeURIComponent(cursor.slice(0, -2))}`, 400],
      [`cursor=${Buffer.from('123.abc').toString('base64url')}`, 400],
      ['limit=101', 422],
      ['limit=0', 422],
      ['status=lost', 422],
      ['channel=fax', 422],
      ['from=yesterday', 422],
      ['from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z', 422],
      ['colour=blue', 422],
    ] as const) {
      const res = await list(query);
      expect(res.status, query).toBe(status);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const body = (await res.json()) as { detail: string };
      expect(body.detail.length).toBeGreaterThan(0);
    }
  });

  it('reads each page in index order, never sorting every match (the tenant API and the console across tenants)', async () => {
    const cursor = decodeCursor((await page('limit=2')).nextCursor!)!;
    const filters: NotificationFilter[] = [
      { tenantId: engine.tenantId, limit: 50 },
      { tenantId: engine.tenantId, status: 'failed', limit: 50 },
      { tenantId: engine.tenantId, limit: 50, after: cursor },
      { limit: 50 },
      { limit: 50, after: cursor },
    ];
    for (const f of filters) {
      const q = notificationLogQuery(engine.database.db, f).toSQL();
      // Sorts and sequential scans priced out: a plan that still sorts has no index in the page's order.
      const plan = await engine.database.sql.begin(async (tx) => {
        await tx`set local enable_seqscan = off`;
        await tx`set local enable_sort = off`;
        return tx.unsafe(`explain (format json) ${q.sql}`, q.params as never[]);
      });
      const text = JSON.stringify(plan);
      expect(text, JSON.stringify(f)).toContain('Index Scan');
      expect(text, JSON.stringify(f)).not.toMatch(/"Node Type":"(Incremental )?Sort"/);
    }
  });
});
