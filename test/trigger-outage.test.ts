import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../db/client.js';
import { startEmbeddedPostgres, userTmpDir, type EmbeddedPg } from '../dev/embedded-postgres.js';
import { freePort } from '../dev/ports.js';
import { startTemporalDevServer, type TemporalDevServer } from '../dev/temporal-server.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, transactionData } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';
import { notificationWorkflowId } from '../workflows/ids.js';
import { notificationWorkflow } from '../workflows/notification.js';

// A trigger that meets a stopped Temporal or PostgreSQL: 503 with Retry-After and nothing written;
// once the server is back, the same API process (no restart) accepts the same Idempotency-Key and
// the notification is delivered exactly once. This file runs its own PostgreSQL and Temporal dev
// server, so stopping them does not disturb other test files.
let engine: TestEngine;
let pg: EmbeddedPg;
let temporal: TemporalDevServer;
let pgPort: number;
let temporalPorts: { port: number; uiPort: number };
const pgDir = join(userTmpDir(), `pg-outage-${process.pid}`);
const temporalDb = join(userTmpDir(), `temporal-outage-${process.pid}.db`);

const startTemporal = () => startTemporalDevServer({ ...temporalPorts, headless: true, dbFile: temporalDb, cliPath: process.env.TEMPORAL_CLI_PATH });

beforeAll(async () => {
  pgPort = await freePort();
  temporalPorts = { port: await freePort(), uiPort: await freePort() };
  // Not ephemeral: the restart keeps the data.
  [pg, temporal] = await Promise.all([startEmbeddedPostgres({ port: pgPort, dir: pgDir }), startTemporal()]);
  await migrateDatabase(pg.url);
  engine = await startTestEngine({ bundle: await bundleWorkflows(), databaseUrl: pg.url, temporal: { address: temporal.address } });
  await putUser(engine, 'olga', { email: 'olga@example.at' }, { transactions: ['email'] });
});
afterAll(async () => {
  await engine?.stop();
  await Promise.allSettled([temporal?.stop(), pg?.stop()]);
  rmSync(pgDir, { recursive: true, force: true });
  rmSync(temporalDb, { force: true });
});

const body = { userId: 'olga', type: 'account.transaction', data: transactionData };
const post = (key: string) => engine.request('POST', '/v1/notifications', { headers: { 'idempotency-key': key }, body });
const postBatch = (keys: string[]) =>
  engine.request('POST', '/v1/notifications/batch', { body: { notifications: keys.map((idempotencyKey) => ({ idempotencyKey, ...body })) } });

async function expectUnavailable(res: Response): Promise<void> {
  expect(res.status, await res.clone().text()).toBe(503);
  expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
}

/** Rows of this tenant for these keys, and the accepted audit steps of those rows. */
async function written(keys: string[]): Promise<{ rows: number; accepted: number }> {
  const [row] = await engine.database.sql<{ rows: number; accepted: number }[]>`
    select count(distinct n.id)::int as rows, count(a.id)::int as accepted
    from notifications n left join audit_events a on a.notification_id = n.id and a.step = 'notification.accepted'
    where n.tenant_id = ${engine.tenantId} and n.idempotency_key in ${engine.database.sql(keys)}`;
  return row!;
}
const acceptedSteps = async () =>
  (
    await engine.database.sql<{ n: number }[]>`
      select count(*)::int as n from audit_events where tenant_id = ${engine.tenantId} and step = 'notification.accepted'`
  )[0]!.n;
const delivered = (id: string) => engine.inbox.messages.filter((m) => m.headers['x-notification-id'] === id);

describe('a trigger while Temporal is down', () => {
  it('answers 503 with Retry-After and writes nothing; the same key later creates one notification, delivered once', async () => {
    const stepsBefore = await acceptedSteps();
    await temporal.stop();
    try {
      await expectUnavailable(await post('olga-t1'));
      await expectUnavailable(await postBatch(['olga-b1', 'olga-b2']));
      expect(await written(['olga-t1', 'olga-b1', 'olga-b2'])).toEqual({ rows: 0, accepted: 0 });
      // No audit step for them either (the tenant's chain did not move).
      expect(await acceptedSteps()).toBe(stepsBefore);
    } finally {
      temporal = await startTemporal();
    }

    // The same keys, once Temporal is back: accepted, one row and one audit step each.
    const res = await waitUntil(async () => {
      const r = await post('olga-t1');
      return r.status === 202 ? r : undefined;
    });
    const { id } = (await res.json()) as { id: string };
    const batch = await postBatch(['olga-b1', 'olga-b2']);
    expect(batch.status).toBe(202);
    const { accepted, results } = (await batch.json()) as { accepted: number; results: { id: string; replayed: boolean }[] };
    expect(accepted).toBe(2);
    expect(results.map((r) => r.replayed)).toEqual([false, false]);
    expect(await written(['olga-t1', 'olga-b1', 'olga-b2'])).toEqual({ rows: 3, accepted: 3 });
    for (const n of [id, ...results.map((r) => r.id)]) expect((await settled(engine, n)).status).toBe('delivered');
    for (const n of [id, ...results.map((r) => r.id)]) expect(delivered(n)).toHaveLength(1);
    // A replay of the accepted key changes nothing.
    const again = await post('olga-t1');
    expect(again.status).toBe(202);
    expect(((await again.json()) as { id: string }).id).toBe(id);
    expect(await written(['olga-t1'])).toEqual({ rows: 1, accepted: 1 });
  });
});

describe('a request while PostgreSQL is down', () => {
  it('answers 503 with Retry-After on every route; the same API process accepts again once PostgreSQL is back', async () => {
    const link = await engine.request('POST', '/v1/users/olga/preference-link');
    expect(link.status).toBe(201);
    const preferencePage = new URL(((await link.json()) as { url: string }).url).pathname;
    await pg.stop();
    try {
      await expectUnavailable(await post('olga-p1'));
      await expectUnavailable(await postBatch(['olga-p2']));
      await expectUnavailable(await engine.request('GET', '/v1/users/olga'));
      await expectUnavailable(await engine.request('GET', `/v1/notifications/${randomUUID()}`));
      await expectUnavailable(await engine.request('PUT', '/v1/users/olga/preferences', { body: { categories: { transactions: ['email'] } } }));
      const oneClick = { rawBody: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' }, key: null };
      await expectUnavailable(await engine.request('POST', `/v1/unsubscribe/${'A'.repeat(43)}`, oneClick));
      const page = await engine.request('GET', preferencePage, { key: null });
      expect(page.status).toBe(503);
      expect(page.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      pg = await startEmbeddedPostgres({ port: pgPort, dir: pgDir });
    }
    // No restart of the API: its pool reconnects by itself (a first try may meet a connection the restart cut).
    const res = await waitUntil(
      async () => {
        const r = await post('olga-p1');
        if (r.status !== 202) await expectUnavailable(r);
        return r.status === 202 ? r : undefined;
      },
      30_000,
      'a 202 after the restart',
    );
    const { id } = (await res.json()) as { id: string };
    expect((await settled(engine, id)).status).toBe('delivered');
    expect(delivered(id)).toHaveLength(1);
    expect(await written(['olga-p1'])).toEqual({ rows: 1, accepted: 1 });
  });
});

describe('a workflow whose row never committed', () => {
  it('ends without sending anything (a start that succeeded before a failed commit)', async () => {
    const notificationId = randomUUID();
    const handle = await engine.client.workflow.start(notificationWorkflow, {
      taskQueue: engine.taskQueue,
      workflowId: notificationWorkflowId(engine.tenantId, notificationId),
      args: [{ version: 1, notificationId, tenantId: engine.tenantId, userId: 'olga', type: 'account.transaction', category: 'transactions' }],
    });
    await expect(handle.result()).rejects.toThrow();
    const { events } = await handle.fetchHistory();
    // prepareDelivery waited for the row over several tries (it may commit a moment after the start), then gave up.
    const marker = events?.find((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')?.markerRecordedEventAttributes;
    expect(marker?.failure?.applicationFailureInfo?.type).toBe('NotFound');
    const data = marker?.details?.data?.payloads?.[0]?.data;
    expect((JSON.parse(Buffer.from(data!).toString()) as { attempt: number; activity_type: string }).attempt).toBeGreaterThan(1);
    expect(delivered(notificationId)).toHaveLength(0);
  });
});
