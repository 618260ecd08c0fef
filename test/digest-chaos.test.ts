import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { auditSteps, putUser, settled } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

// The "done when": 500 events for one user from 20 concurrent clients, every fifth one
// retried with its Idempotency-Key, into one digest window while the worker (its own OS process,
// as deployed) is killed twice. One digest arrives, once, with exactly the 500 items; DKIM passes.

const EVENTS = 500;
const CLIENTS = 20;

let engine: TestEngine;
let caFile: string;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true });
  caFile = join(mkdtempSync(join(tmpdir(), 'notiflow-ca-')), 'fcm-ca.pem');
  writeFileSync(caFile, engine.fcm.caPem);
});
afterAll(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await engine?.stop();
});

/** The production worker entry point, as its own OS process (as test/worker-restart.test.ts starts it). */
function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/worker.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: engine.databaseUrl,
      TEMPORAL_ADDRESS: engine.temporalAddress,
      TEMPORAL_TASK_QUEUE: engine.taskQueue,
      SECRET_KEY: engine.secretKey,
      TEMPORAL_PAYLOAD_KEYS: engine.payloadKeys,
      FCM_LOCAL_ENDPOINT: `${engine.fcm.host}:${engine.fcm.port}`,
      FCM_LOCAL_CA_FILE: caFile,
      PUBLIC_URL: 'https://notify.example.test',
      LOG_LEVEL: 'error',
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  workers.push(child);
  return child;
}

async function kill(worker: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.kill('SIGKILL');
  await exited;
}

/** One POST; a 409 "still in progress" (its twin is mid-transaction) or a 503 is retried, as a client would. */
async function post(i: number): Promise<string> {
  for (;;) {
    const res = await engine.request('POST', '/v1/notifications', {
      headers: { 'idempotency-key': `chaos-${i}` },
      body: { userId: 'zoe', type: 'account.transaction', data: { amount: 1, currency: 'EUR', merchant: `Shop ${i}`, accountLast4: '4242' } },
    });
    if (res.status === 202) return ((await res.json()) as { id: string }).id;
    if (res.status !== 409 && res.status !== 503) throw new Error(`${res.status} ${await res.text()}`);
  }
}

describe('a digest under load and worker crashes', () => {
  it(
    '500 events from 20 clients with retried duplicates, worker killed twice: one digest with exactly the 500 items, once',
    { timeout: 600_000 },
    async () => {
      const put = await engine.request('PUT', '/v1/notification-types/account.transaction', {
        body: {
          category: 'transactions',
          variables: {
            amount: { type: 'money', required: true },
            merchant: { type: 'string', required: true },
            accountLast4: { type: 'string', required: true },
          },
          // Sliding: the window stays open while events come, however slow this machine is, and closes 20 s after the last.
          digest: { window: { mode: 'sliding', seconds: 20, maxSeconds: 900 } },
        },
      });
      expect(put.status, await put.clone().text()).toBe(200);
      await putUser(engine, 'zoe', { email: 'zoe@example.com', locale: 'en', timezone: 'Europe/Paris' }, { transactions: ['email'] });

      let worker = startWorkerProcess();
      // Each client takes every 20th event; every 5th event is sent a second time by the next client.
      const ids = new Map<number, string>();
      let sent = 0;
      const kills: Promise<void>[] = [];
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, client) => {
          for (let i = client; i < EVENTS; i += CLIENTS) {
            const id = await post(i);
            if (ids.has(i)) expect(ids.get(i)).toBe(id);
            ids.set(i, id);
            if (i % 5 === 0) {
              // The retried duplicate: same key, same body, from another client at about the same time.
              const again = await post(i);
              expect(again).toBe(id);
            }
            sent++;
            // Two crashes while the window fills: a new worker takes over each time.
            if (sent === Math.floor(EVENTS / 3) || sent === Math.floor((2 * EVENTS) / 3)) {
              const dying = worker;
              kills.push(kill(dying).then(() => void (worker = startWorkerProcess())));
            }
          }
        }),
      );
      await Promise.all(kills);
      expect(new Set(ids.values()).size).toBe(EVENTS);

      const [mail] = await engine.inbox.waitFor(1, 300_000);
      expect(mail!.rcptTo).toEqual(['zoe@example.com']);
      expect(mail!.dkim.result).toBe('pass');
      expect(mail!.subject).toBe(`${EVENTS} updates from Bank ${engine.tenantId}`);
      // Every item counted once: 500 × €1.00, and the last ten listed.
      expect(mail!.text).toContain('€500.00');
      expect(mail!.text).toContain('… and 490 more');

      // In Postgres: every accepted item in exactly one digest, and that digest delivered.
      const rows = await engine.database.db.execute<{ digest_id: string | null; items: number }>(
        sql`select i.digest_id, count(*)::int as items from digest_items i join notifications n on n.id = i.notification_id
          where n.tenant_id = ${engine.tenantId} group by i.digest_id`,
      );
      expect(rows.map((r) => ({ ...r }))).toEqual([{ digest_id: expect.any(String), items: EVENTS }]);
      const digestId = rows[0]!.digest_id!;
      expect((await settled(engine, digestId, 120_000)).status).toBe('delivered');
      expect(await auditSteps(engine, digestId)).toEqual([
        'digest.closed',
        'channels.decided',
        'email.rendered',
        'email.accepted',
        'notification.delivered',
      ]);
      const statuses = await engine.database.db.execute<{ status: string; n: number }>(
        sql`select status, count(*)::int as n from notifications where tenant_id = ${engine.tenantId} and id <> ${digestId} group by status`,
      );
      expect(statuses.map((r) => ({ ...r }))).toEqual([{ status: 'digested', n: EVENTS }]);

      // No second digest: the workflow ended its window and nothing is left waiting.
      await waitUntil(
        async () => {
          const handle = engine.client.workflow.getHandle(await workflowIdOf(ids.get(0)!));
          const d = await handle.describe();
          return d.status.name === 'COMPLETED';
        },
        120_000,
        'the digest workflow to complete',
      );
      expect(engine.inbox.messages).toHaveLength(1);
    },
  );
});

async function workflowIdOf(id: string): Promise<string> {
  const res = await engine.request('GET', `/v1/notifications/${id}`);
  return ((await res.json()) as { workflowId: string }).workflowId;
}
