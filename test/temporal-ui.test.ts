// What an operator sees in the Temporal Web UI, in Chromium: the workflow list shows each
// notification's summary, a notification held by quiet hours shows what it waits for, payloads
// are decoded through the API's codec endpoint, and no address appears. The suite's Temporal dev
// server is headless: this file starts one with its UI, pointed at the codec as `npm start` does.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../api/app.js';
import { serveApi } from '../api/serve.js';
import { encryptedDataConverter } from '../config/temporal.js';
import { freePort } from '../dev/ports.js';
import { startTemporalDevServer, type TemporalDevServer } from '../dev/temporal-server.js';
import { notificationWorkflowId } from '../workflows/ids.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, transactionData, trigger } from './helpers/notify.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const artifacts = join(import.meta.dirname, 'artifacts');
const CODEC_TOKEN = randomBytes(24).toString('hex');
const TZ = 'Asia/Tokyo';
const ADDRESSES = ['uwe.ui@example.jp', 'ada.ui@example.fr'];

let temporal: TemporalDevServer;
let engine: TestEngine;
let server: ReturnType<typeof serveApi>;
let context: BrowserContext;
let profile: string;
let apiPort: number;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  // The API's port is chosen first: the UI is told its codec endpoint when it starts.
  apiPort = await freePort();
  temporal = await startTemporalDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    uiCodecEndpoint: `http://127.0.0.1:${apiPort}/codec/${CODEC_TOKEN}`,
    cliPath: process.env.TEMPORAL_CLI_PATH,
  });
  engine = await startTestEngine({ temporal: { address: temporal.address } });
  const api = createApi({
    db: engine.database.db,
    temporal: engine.client,
    taskQueue: engine.taskQueue,
    codec: encryptedDataConverter(engine.payloadKeys).payloadCodecs[0],
    codecToken: CODEC_TOKEN,
    codecOrigins: [temporal.uiUrl],
  });
  server = serveApi(api.fetch, { hostname: '127.0.0.1', port: apiPort });
  await new Promise((r) => server.once('listening', r));
  profile = mkdtempSync(join(tmpdir(), 'notiflow-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    locale: 'en-GB',
    viewport: { width: 1600, height: 1000 },
  });
}, 180_000);
afterAll(async () => {
  await context?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  await engine?.stop();
  await temporal?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Hours and minutes on the user's clock, `offsetMinutes` from now. */
const userClock = (offsetMinutes: number) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    new Date(Date.now() + offsetMinutes * 60_000),
  );

/** What the page shows, with the frames the UI renders summaries and details in (markdown in iframes). */
async function shown(page: Page): Promise<string> {
  const frames = page.frames().filter((f) => f !== page.mainFrame());
  const texts = await Promise.all(
    [page.mainFrame(), ...frames].map((f) =>
      f
        .locator('body')
        .innerText()
        .catch(() => ''),
    ),
  );
  return texts.join('\n');
}

/** Waits until the page shows every one of `expected` (the UI decodes and renders each piece on its own), and returns its text. */
async function showsAll(page: Page, expected: (string | RegExp)[]): Promise<string> {
  let last = '';
  const missing = async () => {
    last = await shown(page);
    return expected.filter((e) => (typeof e === 'string' ? !last.includes(e) : !e.test(last))).map(String);
  };
  await expect.poll(missing, { timeout: 60_000 }).toEqual([]);
  return last;
}

/** The workflow list as an operator sets it up once: our search attributes as columns (the UI's column picker keeps them in localStorage). */
const COLUMNS = ['Status', 'Workflow ID', 'NotificationType', 'Category', 'Channel', 'DeliveryStatus', 'Start', 'End'];

/** Personal data that must not show: the addresses and their local parts, and the event's data. */
const PERSONAL = [...ADDRESSES, ...ADDRESSES.map((a) => a.split('@')[0]!), transactionData.merchant];

describe('the Temporal UI in Chromium', () => {
  it('lists notifications by type, category, channel and status, shows a quiet-hours wait and an outcome, decoded through the codec, with no address', async () => {
    await putUser(engine, 'ada', { email: ADDRESSES[1] }, { transactions: ['email'] });
    const delivered = await trigger(engine, 'ada', 'ui-ada-1');
    expect((await settled(engine, delivered)).status).toBe('delivered');
    const quietHours = { starts: userClock(-60), ends: userClock(120) };
    await putUser(engine, 'uwe', { email: ADDRESSES[0], timezone: TZ, quietHours }, { transactions: ['email'] });
    const waiting = await trigger(engine, 'uwe', 'ui-uwe-1');
    const waitingId = notificationWorkflowId(engine.tenantId, waiting);
    const deliveredId = notificationWorkflowId(engine.tenantId, delivered);

    // The list shows what visibility holds: wait until the hold's upsert (DeliveryStatus=scheduled) is there.
    const listed = async (query: string) => {
      for await (const wf of engine.client.workflow.list({ query })) if (wf.workflowId === waitingId) return true;
      return false;
    };
    await expect.poll(() => listed(`TenantId="${engine.tenantId}" AND DeliveryStatus="scheduled"`), { timeout: 60_000 }).toBe(true);

    const page = await context.newPage();
    await page.addInitScript((labels) => {
      localStorage.setItem('namespace-workflow-table-columns', JSON.stringify({ default: labels.map((label) => ({ label })) }));
    }, COLUMNS);
    const codec: number[] = [];
    page.on('response', (r) => {
      if (r.url().startsWith(`http://127.0.0.1:${apiPort}/codec/`) && r.request().method() === 'POST') codec.push(r.status());
    });

    // The list: one row per notification, with what it is and where it stands.
    await page.goto(`${temporal.uiUrl}/namespaces/default/workflows`);
    const row = (id: string) => page.getByRole('row').filter({ hasText: id });
    await expect.poll(() => row(waitingId).count(), { timeout: 60_000 }).toBe(1);
    await expect.poll(() => row(deliveredId).count(), { timeout: 60_000 }).toBe(1);
    await page.screenshot({ path: join(artifacts, 'temporal-ui-list.png'), fullPage: true });
    const cells = async (id: string) => (await row(id).innerText()).split(/\s+/);
    expect(await cells(waitingId)).toEqual(expect.arrayContaining(['Running', 'account.transaction', 'transactions', 'scheduled']));
    expect(await cells(deliveredId)).toEqual(expect.arrayContaining(['Completed', 'account.transaction', 'transactions', 'email', 'delivered']));
    const list = await shown(page);
    for (const p of PERSONAL) expect(list).not.toContain(p);

    // The waiting notification: its input decoded through the codec (ids only), then its summary, details and what it waits for.
    await page.goto(`${temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(waitingId)}`);
    const history = await showsAll(page, ['"userId": "uwe"', '"type": "account.transaction"']);
    await page.getByRole('tab', { name: 'User Metadata' }).click();
    const waitingMetadata = await showsAll(page, [
      'account.transaction (transactions)',
      /type\s+account\.transaction\s+category\s+transactions/,
      'decide channels, render',
      // The current details (markdown: the apostrophe renders curly) and the timer's summary.
      `waiting for quiet hours until ${quietHours.ends} (user’s time)`,
      `waiting for quiet hours until ${quietHours.ends} (user's time)`,
    ]);
    await page.screenshot({ path: join(artifacts, 'temporal-ui-quiet-hours.png'), fullPage: true });
    for (const p of PERSONAL) expect(history + waitingMetadata).not.toContain(p);

    // The delivered one: the outcome per channel, with the IP it left from.
    await page.goto(`${temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(deliveredId)}`);
    await page.getByRole('tab', { name: 'User Metadata' }).click();
    const deliveredMetadata = await showsAll(page, [
      /outcome\s+delivered/,
      new RegExp(`email: delivered, IP (${engine.ips.map((ip) => ip.replace(/\./g, '\\.')).join('|')}), provider`),
      'send e-mail',
    ]);
    await page.screenshot({ path: join(artifacts, 'temporal-ui-delivered.png'), fullPage: true });
    for (const p of PERSONAL) expect(deliveredMetadata).not.toContain(p);

    // Every summary, detail and input above came through the API's codec endpoint (Temporal holds them encrypted).
    expect(codec.length).toBeGreaterThan(0);
    expect(codec.every((status) => status === 200)).toBe(true);
  });
});
