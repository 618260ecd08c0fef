import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { auditSteps, putUser, settled, trigger } from './helpers/notify.js';

let engine: TestEngine;
let caFile: string;
const workers: ChildProcess[] = [];
let firstDataArrived: () => void;
const firstData = new Promise<void>((resolve) => (firstDataArrived = resolve));
let releaseFirst: () => void;
const firstReleased = new Promise<void>((resolve) => (releaseFirst = resolve));

beforeAll(async () => {
  engine = await startTestEngine({
    noWorker: true,
    inbox: {
      // The first message hangs in DATA until the test has killed the worker that sent it.
      onData: async ({ attempt }) => {
        if (attempt > 1) return undefined;
        firstDataArrived();
        await firstReleased;
        return { code: 451, message: '4.4.2 Connection lost' };
      },
    },
  });
  caFile = join(mkdtempSync(join(tmpdir(), 'notiflow-ca-')), 'fcm-ca.pem');
  writeFileSync(caFile, engine.fcm.caPem);
});
afterAll(async () => {
  releaseFirst();
  for (const w of workers) w.kill('SIGKILL');
  await engine?.stop();
});

/** The production worker entry point, as its own OS process. */
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
      // The run's bundle (test/global-setup.ts), as a deployed worker loads `npm run build:workflows`' output.
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  workers.push(child);
  return child;
}

describe('a worker killed mid-notification', () => {
  it('completes the notification once a new worker starts, with exactly one message delivered', async () => {
    await putUser(engine, 'kim', { email: 'kim@example.com', locale: 'en' }, { transactions: ['email'] });
    const first = startWorkerProcess();
    const id = await trigger(engine, 'kim', 'kim-1');

    await firstData; // the worker is inside the SMTP send
    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await exited;
    releaseFirst();

    startWorkerProcess();
    const done = await settled(engine, id, 80_000);
    expect(done.status).toBe('delivered');
    expect(engine.inbox.messages.filter((m) => m.rcptTo.includes('kim@example.com'))).toHaveLength(1);
    expect(await auditSteps(engine, id)).toEqual([
      'notification.accepted',
      'channels.decided',
      'email.rendered',
      'email.accepted',
      'notification.delivered',
    ]);
  });
});
