import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../api/app.js';
import { connectDatabase, type Database } from '../db/client.js';
import { auditEvents, notifications } from '../db/schema.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, transactionData } from './helpers/notify.js';

// Per-tenant API rate limits: set by an operator, held across API processes (the buckets are in
// Postgres), refused with 429 + Retry-After + the IETF RateLimit fields, and nothing written.

const ADMIN_KEY = 'nf_admin_rate_limits_test_key_0123456789';
let engine: TestEngine;
let otherDatabase: Database;
let otherApi: ReturnType<typeof createApi>;

beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true, api: { adminKey: ADMIN_KEY } });
  await putUser(engine, 'rl-bob', { email: 'rl-bob@example.com', locale: 'en' });
  // A second API process: its own connections to the same Postgres, the same defaults.
  otherDatabase = connectDatabase(engine.databaseUrl);
  otherApi = createApi({ db: otherDatabase.db, temporal: engine.client, taskQueue: engine.taskQueue });
});
afterAll(async () => {
  await otherDatabase?.close();
  await engine?.stop();
});

const admin = (method: string, body?: unknown) =>
  engine.request(method, `/v1/admin/tenants/${engine.tenantId}/limits`, { key: ADMIN_KEY, ...(body === undefined ? {} : { body }) });
const viaOther = (path: string) => otherApi.request(path, { headers: { authorization: `Bearer ${engine.apiKey}` } });

async function expectRefused(res: Response, quota: string) {
  expect(res.status).toBe(429);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(res.headers.get('ratelimit-policy')).toContain(`"${quota}";q=`);
  expect(res.headers.get('ratelimit')).toMatch(new RegExp(`"${quota}";r=0;t=\\d+`));
  const problem = (await res.json()) as { status: number; type: string; detail: string };
  expect(problem.status).toBe(429);
  expect(problem.type).toMatch(/too-many-requests$/);
  return problem;
}

const rowsFor = (key: string) =>
  engine.database.db
    .select({ id: notifications.id })
    .from(notifications)
    .where(and(eq(notifications.tenantId, engine.tenantId), eq(notifications.idempotencyKey, key)));

const acceptedEvents = async () =>
  (
    await engine.database.db
      .select({ id: auditEvents.id })
      .from(auditEvents)
      .where(and(eq(auditEvents.tenantId, engine.tenantId), eq(auditEvents.step, 'notification.accepted')))
  ).length;

describe('per-tenant API rate limits', () => {
  it('an operator sets the limits; requests past them get 429 from whichever API process they reach', async () => {
    const set = await admin('PUT', { requestsPerSecond: 1, requestsBurst: 3 });
    expect(set.status, await set.clone().text()).toBe(200);
    const view = (await set.json()) as { configured: Record<string, number | null>; effective: Record<string, number> };
    expect(view.configured).toMatchObject({ requestsPerSecond: 1, requestsBurst: 3, notificationsPerSecond: null });
    expect(view.effective.requestsBurst).toBe(3);

    // Three requests, spread over two API processes, use the burst; each answer says what is left.
    const first = await engine.request('GET', '/v1/users/rl-bob');
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"requests";q=3;w=3');
    expect(first.headers.get('ratelimit')).toMatch(/^"requests";r=2;t=\d+$/);
    expect((await viaOther('/v1/users/rl-bob')).status).toBe(200);
    expect((await engine.request('GET', '/v1/users/rl-bob')).status).toBe(200);
    // The fourth, on the other process, finds the shared bucket empty.
    const problem = await expectRefused(await viaOther('/v1/users/rl-bob'), 'requests');
    expect(problem.detail).toContain('1 requests per second');

    // The operator raises the limit: the next request passes at once, on either process.
    expect((await admin('PUT', { requestsPerSecond: 100_000, requestsBurst: 100_000 })).status).toBe(200);
    expect((await viaOther('/v1/users/rl-bob')).status).toBe(200);
    expect((await engine.request('GET', '/v1/users/rl-bob')).status).toBe(200);
  });

  it('counts each notification of a batch; a refused trigger writes nothing and starts no workflow', async () => {
    expect((await admin('PUT', { notificationsPerSecond: 1, notificationsBurst: 2 })).status).toBe(200);
    // A batch larger than the burst passes on a full bucket and leaves a debt of ~600 s (its items
    // name an unknown user, so each is refused with its own 422, but each counts).
    const items = Array.from({ length: 600 }, (_, i) => ({
      idempotencyKey: `rl-debt-${i}`,
      userId: 'rl-nobody',
      type: 'account.transaction',
      data: transactionData,
    }));
    const big = await engine.request('POST', '/v1/notifications/batch', { body: { notifications: items } });
    expect(big.status, await big.clone().text()).toBe(202);
    expect(big.headers.get('ratelimit')).toMatch(/"notifications";r=0;t=\d+/);

    const workflowsBefore = await engine.client.workflow.count(`TenantId="${engine.tenantId}"`);
    const auditedBefore = await acceptedEvents();
    const refused = await engine.request('POST', '/v1/notifications', {
      headers: { 'idempotency-key': 'rl-refused' },
      body: { userId: 'rl-bob', type: 'account.transaction', data: transactionData },
    });
    const problem = await expectRefused(refused, 'notifications');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(500);
    expect(refused.headers.get('ratelimit-policy')).toContain('"notifications";q=2;w=2');
    expect(problem.detail).toContain('Nothing was recorded');
    const batchRefused = await engine.request('POST', '/v1/notifications/batch', {
      body: { notifications: [{ idempotencyKey: 'rl-refused-batch', userId: 'rl-bob', type: 'account.transaction', data: transactionData }] },
    });
    await expectRefused(batchRefused, 'notifications');

    expect(await rowsFor('rl-refused')).toEqual([]);
    expect(await rowsFor('rl-refused-batch')).toEqual([]);
    expect(await acceptedEvents()).toEqual(auditedBefore);
    expect(await engine.client.workflow.count(`TenantId="${engine.tenantId}"`)).toEqual(workflowsBefore);

    // The operator lifts the notification limit back to the default: the same request is accepted.
    const lifted = await admin('PUT', {});
    expect(((await lifted.json()) as { configured: Record<string, unknown> }).configured.notificationsBurst).toBeNull();
    const accepted = await engine.request('POST', '/v1/notifications', {
      headers: { 'idempotency-key': 'rl-refused' },
      body: { userId: 'rl-bob', type: 'account.transaction', data: transactionData },
    });
    expect(accepted.status, await accepted.clone().text()).toBe(202);
    expect(accepted.headers.get('ratelimit')).toMatch(/^"requests";r=\d+;t=\d+, "notifications";r=\d+;t=\d+$/);
    expect(await rowsFor('rl-refused')).toHaveLength(1);
  });

  it('GET /v1/admin/tenants/{id}/limits shows the setting; unknown tenants are 404, bad values 422', async () => {
    const res = await admin('GET');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { tenantId: string }).tenantId).toBe(engine.tenantId);
    expect((await engine.request('GET', '/v1/admin/tenants/no-such-tenant/limits', { key: ADMIN_KEY })).status).toBe(404);
    const bad = await admin('PUT', { requestsPerSecond: 0 });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { detail: string }).detail).toContain('requestsPerSecond');
    expect((await engine.request('GET', `/v1/admin/tenants/${engine.tenantId}/limits`)).status).toBe(401);
  });

  it('the document declares the 429 with its headers on every tenant route', async () => {
    const doc = (await (await engine.request('GET', '/openapi.json', { key: null })).json()) as {
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, { headers?: Record<string, unknown> }> }>>;
    };
    const tenantOps = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => path.startsWith('/v1/') && !path.startsWith('/v1/admin') && op.security === undefined)
        .map(([method, op]) => ({ op: `${method} ${path}`, headers: Object.keys(op.responses['429']?.headers ?? {}) })),
    );
    expect(tenantOps.length).toBeGreaterThan(20);
    expect(tenantOps.filter((o) => o.headers.join() !== 'Retry-After,RateLimit-Policy,RateLimit').map((o) => o.op)).toEqual([]);
  });
});
