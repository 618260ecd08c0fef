import { createServer, connect, type Server } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareActivities } from '../activities/prepare.js';
import { sendEmailActivities } from '../activities/send-email.js';
import { createLogger } from '../config/logger.js';
import { createSecretBox } from '../config/secrets.js';
import { connectDatabase } from '../db/client.js';
import { writeThroughOutage } from '../db/unavailable.js';
import { createMailer } from '../domain/email/mailer.js';
import { freePort } from '../dev/ports.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { getNotification, putUser, settled, trigger } from './helpers/notify.js';

// What the chaos run (npm run chaos) found: a send whose accepted try was recorded, but whose
// completion never reached Temporal (worker killed, Temporal restarting), was sent a second time by
// the retry; and a record that met a PostgreSQL restart failed the activity, so the retry sent again.

let engine: TestEngine;
const mailer = createMailer();

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
});
afterAll(async () => {
  await mailer.close();
  await engine?.stop();
});

describe('a send retried after its accepted try was recorded', () => {
  it('sends nothing again and answers with the recorded attempt', async () => {
    await putUser(engine, 'rita', { email: 'rita@example.com', locale: 'en' });
    const id = await trigger(engine, 'rita', 'rita-1');
    const done = await settled(engine, id);
    expect(done.status).toBe('delivered');
    const toRita = () => engine.inbox.messages.filter((m) => m.headers['x-notification-id'] === id);
    expect(toRita()).toHaveLength(1);
    const [recorded] = await engine.database.sql<{ id: string }[]>`
      select id::text from delivery_attempts where notification_id = ${id} and channel = 'email' and outcome = 'accepted'`;

    // The retry Temporal makes when the first try's completion was lost.
    const { sendEmail } = sendEmailActivities({
      db: engine.database.db,
      mailer,
      secrets: createSecretBox(Buffer.from(engine.secretKey, 'base64')),
      logger: createLogger('silent'),
      publicUrl: 'http://127.0.0.1:3000',
    });
    const again = await new MockActivityEnvironment({ attempt: 2 }).run(sendEmail, { notificationId: id, deliveryCompletes: true });
    expect(again).toMatchObject({ attemptId: recorded!.id, completion: { statusWebhook: false } });
    await new Promise((r) => setTimeout(r, 500));
    expect(toRita()).toHaveLength(1);
  });

  it('keeps a finished notification finished when a stale try of its preparation lands late', async () => {
    await putUser(engine, 'sami', { email: 'sami@example.com', locale: 'en' });
    const id = await trigger(engine, 'sami', 'sami-1');
    expect((await settled(engine, id)).status).toBe('delivered');
    // The try of prepareDelivery whose workflow task was retried, its write held up until now.
    const { prepareDelivery } = prepareActivities({
      db: engine.database.db,
      mailer,
      secrets: createSecretBox(Buffer.from(engine.secretKey, 'base64')),
      logger: createLogger('silent'),
      publicUrl: 'http://127.0.0.1:3000',
    });
    await new MockActivityEnvironment().run(prepareDelivery, { notificationId: id });
    expect(await getNotification(engine, id)).toMatchObject({ status: 'delivered', deliveredChannels: ['email'] });
  });
});

describe('a write that meets a PostgreSQL restart', () => {
  let proxy: Server | undefined;
  afterAll(() => proxy?.close());

  it('is written once the database is back, and other errors are not retried', async () => {
    // The database behind a port that refuses connections for a second, then forwards to the real one.
    const real = new URL(engine.databaseUrl);
    const port = await freePort();
    const db = connectDatabase(Object.assign(new URL(engine.databaseUrl), { port: String(port) }).toString(), { max: 1 });
    setTimeout(() => {
      proxy = createServer((client) => {
        const upstream = connect(Number(real.port), real.hostname);
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      }).listen(port, '127.0.0.1');
    }, 1_000);
    let tries = 0;
    const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    try {
      const rows = await writeThroughOutage(() => (tries++, db.db.execute(sql`select 1 as one`)), pause, 20_000);
      expect(tries).toBeGreaterThan(1);
      expect([...rows]).toEqual([{ one: 1 }]);

      let badTries = 0;
      await expect(writeThroughOutage(() => (badTries++, db.db.execute(sql`select * from no_such_table`)), pause)).rejects.toThrow();
      expect(badTries).toBe(1);
    } finally {
      await db.close();
    }
  });
});
