import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox } from '../config/secrets.js';
import { startInboundListener, type InboundListener } from '../inbound/server.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { arfReport, headersOf, mailReport } from './helpers/feedback-mail.js';
import { putUser, settled, trigger } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

// The console's message log and delivery charts in Chromium, over notifications this file really
// sends: delivered, deferred once, refused at RCPT (a bounce), then suppressed, pushed, and one
// complained about through an ARF report. Screenshots at desktop and phone width go to test/artifacts/.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const artifacts = join(import.meta.dirname, 'artifacts');
const adminKey = `nf_admin_log_${Math.random().toString(36).slice(2)}`;
const temporalUi = 'http://temporal-ui.test:8233';
const desktop = { width: 1280, height: 900 };
const phone = { width: 390, height: 844 };

let engine: TestEngine;
let other: { tenantId: string; apiKey: string };
let listener: InboundListener;
let base: string;
let server: ReturnType<typeof serve>;
const dirs: string[] = [];
/** Our notifications by what became of them. */
const sent: Record<'delivered' | 'deferred' | 'bounced' | 'suppressed' | 'push' | 'complained' | 'other', string[]> = {
  delivered: [],
  deferred: [],
  bounced: [],
  suppressed: [],
  push: [],
  complained: [],
  other: [],
};
const rcptSeen = new Map<string, number>();

async function browser(viewport: { width: number; height: number }): Promise<BrowserContext> {
  const dir = mkdtempSync(join(tmpdir(), 'notiflow-chromium-'));
  dirs.push(dir);
  return chromium.launchPersistentContext(dir, {
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
    viewport,
    ...(viewport.width < 500 ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
    locale: 'en-GB',
  });
}

async function signIn(page: Page) {
  await page.goto(`${base}/console`);
  await page.getByLabel('Admin key').fill(adminKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/console`);
}

/** The page fits the screen: nothing wider than the viewport but what scrolls inside its own box. */
const fitsWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  engine = await startTestEngine({
    bundle: await bundleWorkflows(),
    api: { adminKey, temporalUiUrl: temporalUi },
    inbox: {
      onRcpt: ({ rcpt }) => {
        const n = (rcptSeen.get(rcpt) ?? 0) + 1;
        rcptSeen.set(rcpt, n);
        if (rcpt.startsWith('gone-')) return { code: 550, message: '5.1.1 Recipient address rejected: User unknown in virtual mailbox table' };
        if (rcpt.startsWith('slow-') && n === 1) return { code: 451, message: '4.3.0 Temporary local problem, try again later' };
        return undefined;
      },
    },
  });
  other = await engine.addTenant();
  listener = await startInboundListener({
    db: engine.database.db,
    secrets: createSecretBox(Buffer.from(engine.secretKey, 'base64')),
    loops: { domains: [], ips: ['127.0.0.1'] },
  });
  server = serve({ fetch: engine.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  await putUser(engine, 'ana', { email: 'ana.log@example.fr' }, { transactions: ['email'] });
  await putUser(engine, 'sam', { email: 'slow-sam@example.fr' }, { transactions: ['email'] });
  await putUser(engine, 'gus', { email: 'gone-gus@example.fr' }, { transactions: ['email'] });
  await putUser(engine, 'pia', { pushTokens: ['tok-pia-log'] }, { transactions: ['push'] });
  const send = async (user: string, key: string, as: keyof typeof sent, status: string) => {
    const id = await trigger(engine, user, `${key}-${engine.tenantId}`);
    expect((await settled(engine, id)).status).toBe(status);
    sent[as].push(id);
    return id;
  };
  const complained = await send('ana', 'ana-1', 'complained', 'delivered');
  await send('ana', 'ana-2', 'delivered', 'delivered');
  await send('sam', 'sam-1', 'deferred', 'delivered');
  await send('gus', 'gus-1', 'bounced', 'failed');
  await send('gus', 'gus-2', 'suppressed', 'suppressed');
  await send('pia', 'pia-1', 'push', 'delivered');
  // Ana complains about the first one through her provider's feedback loop.
  const mail = engine.inbox.messages.find((m) => m.headers['x-notification-id'] === complained)!;
  const arf = arfReport({ to: `fbl@${engine.tenantId}.bank.test`, sourceIp: engine.ips[0]!, originalHeaders: headersOf(mail.raw) });
  expect(await mailReport(listener, arf, { from: 'fbl@isp.remote.test', to: `fbl@${engine.tenantId}.bank.test` })).toMatch(/^250/);

  // The other tenant has an "ana" too: the log across tenants shows both.
  const asOther = { key: other.apiKey };
  expect((await engine.request('PUT', '/v1/users/ana', { ...asOther, body: { email: 'ana.other@example.fr' } })).status).toBeLessThan(300);
  const res = await engine.request('POST', '/v1/notifications', {
    ...asOther,
    headers: { 'idempotency-key': `other-${other.tenantId}` },
    body: { userId: 'ana', type: 'account.transaction', data: { amount: 1, currency: 'EUR', merchant: 'Kiosk', accountLast4: '1111' } },
  });
  expect(res.status).toBe(202);
  const otherId = ((await res.json()) as { id: string }).id;
  await waitUntil(
    async () => {
      const r = await engine.request('GET', `/v1/notifications/${otherId}`, asOther);
      return ((await r.json()) as { status: string }).status === 'delivered' ? true : undefined;
    },
    60_000,
    'the other tenant’s notification to be delivered',
  );
  sent.other.push(otherId);
}, 300_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await listener?.close();
  await engine?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The ids of the log's rows on the page shown. */
const rowIds = (page: Page) => page.locator('#log tbody tr[data-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')!));

describe('the message log in the console', () => {
  it('pages through a tenant’s log, filters it from the form, links each row to its detail and its workflow', async () => {
    const ctx = await browser(desktop);
    try {
      const page = await ctx.newPage();
      await signIn(page);
      await page.getByRole('link', { name: 'Message log' }).click();
      expect(await page.locator('h1').textContent()).toBe('Message log');

      // Two a page: three pages of the tenant's six, newest first, none twice.
      await page.goto(`${base}/console/log?tenant=${engine.tenantId}&limit=2`);
      const seen: string[] = [];
      for (;;) {
        const ids = await rowIds(page);
        expect(ids.length).toBeLessThanOrEqual(2);
        seen.push(...ids);
        const next = page.getByRole('link', { name: 'Next page' });
        if ((await next.count()) === 0) break;
        await next.click();
      }
      const ours = Object.entries(sent).flatMap(([k, ids]) => (k === 'other' ? [] : ids));
      expect(seen).toHaveLength(ours.length);
      expect([...seen].sort()).toEqual([...ours].sort());
      // Newest first: the push went last.
      expect(seen[0]).toBe(sent.push[0]);
      await page.screenshot({ path: join(artifacts, 'console-log-paged.png'), fullPage: true });

      // The form: status and channel.
      await page.goto(`${base}/console/log`);
      await page.getByLabel('Tenant').fill(engine.tenantId);
      await page.getByLabel('Status').selectOption('delivered');
      await page.getByRole('button', { name: 'Show' }).click();
      await page.waitForURL(/status=delivered/);
      expect((await rowIds(page)).sort()).toEqual([...sent.delivered, ...sent.deferred, ...sent.push].sort());
      await page.getByLabel('Status').selectOption('');
      await page.getByLabel('Channel').selectOption('push');
      await page.getByRole('button', { name: 'Show' }).click();
      await page.waitForURL(/channel=push/);
      expect(await rowIds(page)).toEqual(sent.push);

      // Across tenants: the user "ana" of both.
      await page.goto(`${base}/console/log?user=ana`);
      const anas = await rowIds(page);
      expect(anas).toEqual(expect.arrayContaining([...sent.complained, ...sent.delivered, ...sent.other]));
      const tenantsShown = await page.locator('#log tbody tr td:nth-child(2)').allTextContents();
      expect(new Set(tenantsShown)).toEqual(new Set([engine.tenantId, other.tenantId]));
      // Nothing personal on the page: no address, no event data.
      const text = (await page.content()).toLowerCase();
      for (const p of ['ana.log@example.fr', 'ana.other@example.fr', 'café central', 'kiosk']) expect(text).not.toContain(p);

      // A row's links: its workflow in the Temporal UI, and its detail page.
      const row = page.locator(`#log tr[data-id="${sent.other[0]}"]`);
      const [n] = await engine.database.sql<{ workflow_id: string }[]>`select workflow_id from notifications where id = ${sent.other[0]!}`;
      expect(await row.getByRole('link', { name: 'Workflow' }).getAttribute('href')).toBe(
        `${temporalUi}/namespaces/default/workflows/${encodeURIComponent(n!.workflow_id)}`,
      );
      await row.getByRole('link', { name: 'Details' }).click();
      expect(await page.locator('h2').textContent()).toBe(`account.transaction for tenant ${other.tenantId}`);

      // A time range the tenant had nothing in, and one it had everything in.
      await page.goto(`${base}/console/log?tenant=${engine.tenantId}&to=2020-01-01`);
      expect(await rowIds(page)).toEqual([]);
      await page.goto(`${base}/console/log?tenant=${engine.tenantId}&from=${new Date(Date.now() - 3_600_000).toISOString()}&limit=100`);
      expect(await rowIds(page)).toHaveLength(ours.length);

      // What the form cannot mean is said, with a 422.
      const bad = await page.goto(`${base}/console/log?from=yesterday`);
      expect(bad?.status()).toBe(422);
      expect(await page.getByRole('alert').textContent()).toContain('from is not a day');
      const forged = await page.goto(`${base}/console/log?cursor=not-a-cursor`);
      expect(forged?.status()).toBe(422);
    } finally {
      await ctx.close();
    }
  });

  it('fits a phone’s screen', async () => {
    const ctx = await browser(phone);
    try {
      const page = await ctx.newPage();
      await signIn(page);
      await page.goto(`${base}/console/log?tenant=${engine.tenantId}`);
      expect(await rowIds(page)).toHaveLength(6);
      expect(await fitsWidth(page)).toBe(true);
      // Each row's status and links are on the screen, not behind a sideways scroll.
      const row = page.locator(`#log tr[data-id="${sent.push[0]}"]`);
      for (const part of [row.locator('td[data-label=Status]'), row.getByRole('link', { name: 'Details' })]) {
        const box = (await part.boundingBox())!;
        expect(box.x + box.width).toBeLessThanOrEqual(phone.width);
      }
      expect(await row.locator('td[data-label=Status]').textContent()).toBe('delivered');
      await page.screenshot({ path: join(artifacts, 'console-log-phone.png'), fullPage: true });
    } finally {
      await ctx.close();
    }
  });
});

describe('the delivery charts in the console', () => {
  const today = new Date().toISOString().slice(0, 10);
  const cells = async (page: Page, table: string, key: string) =>
    Object.fromEntries(
      await page
        .locator(`#${table} tr[data-key="${key}"] td`)
        .evaluateAll((tds) => tds.map((td) => [td.getAttribute('data-measure'), Number(td.textContent)] as const)),
    );

  it('counts what the tenant sent, per day, per tenant and per provider', async () => {
    const [found] = await engine.database.sql<{ provider: string }[]>`
      select distinct a.provider from delivery_attempts a join notifications n on n.id = a.notification_id
      where n.tenant_id = ${engine.tenantId} and a.channel = 'email'`;
    const provider = found!.provider;
    const ctx = await browser(desktop);
    try {
      const page = await ctx.newPage();
      await signIn(page);
      await page.getByRole('link', { name: 'Deliveries' }).click();
      expect(await page.locator('h1').textContent()).toBe('Deliveries');

      // Every tenant: ours and the other one, each with what it really sent.
      expect(await cells(page, 'per-tenant', engine.tenantId)).toEqual({
        sent: 5,
        delivered: 4,
        deferred: 1,
        bounced: 1,
        complained: 1,
        suppressed: 1,
      });
      expect(await cells(page, 'per-tenant', other.tenantId)).toEqual({
        sent: 1,
        delivered: 1,
        deferred: 0,
        bounced: 0,
        complained: 0,
        suppressed: 0,
      });

      // Our tenant alone, from the form.
      await page.getByLabel('Tenant', { exact: true }).selectOption(engine.tenantId);
      await page.getByRole('button', { name: 'Show' }).click();
      await page.waitForURL(/tenant=/);
      expect(await cells(page, 'per-provider', provider)).toEqual({ sent: 4, delivered: 3, deferred: 1, bounced: 1, complained: 1, suppressed: 0 });
      expect(await cells(page, 'per-provider', 'fcm')).toEqual({ sent: 1, delivered: 1, deferred: 0, bounced: 0, complained: 0, suppressed: 0 });
      expect(await cells(page, 'per-provider', 'unknown')).toEqual({ sent: 0, delivered: 0, deferred: 0, bounced: 0, complained: 0, suppressed: 1 });
      expect(await cells(page, 'per-day', today)).toEqual({ sent: 5, delivered: 4, deferred: 1, bounced: 1, complained: 1, suppressed: 1 });
      // The chart's points for today say the same; the other days of the range are zero.
      for (const [m, n] of Object.entries({ sent: 5, delivered: 4, deferred: 1, bounced: 1, complained: 1, suppressed: 1 })) {
        const chart = page.getByRole('img', { name: new RegExp(`^${m} per day`) });
        expect(await chart.locator(`rect[data-day="${today}"]`).getAttribute('data-count')).toBe(String(n));
        expect(await chart.locator('rect').count()).toBe(14);
        expect(await chart.getAttribute('aria-label')).toContain(`: ${n} in 14 days`);
      }
      await page.screenshot({ path: join(artifacts, 'console-deliveries.png'), fullPage: true });

      // One provider of that tenant: the link in its row.
      await page.locator('#per-provider').getByRole('link', { name: 'fcm' }).click();
      await page.waitForURL(/provider=fcm/);
      expect(await cells(page, 'per-day', today)).toEqual({ sent: 1, delivered: 1, deferred: 0, bounced: 0, complained: 0, suppressed: 0 });
    } finally {
      await ctx.close();
    }
  });

  it('fits a phone’s screen', async () => {
    const ctx = await browser(phone);
    try {
      const page = await ctx.newPage();
      await signIn(page);
      await page.goto(`${base}/console/deliveries?tenant=${engine.tenantId}&days=30`);
      expect(await page.locator('svg[data-measure="sent"] rect').count()).toBe(30);
      expect(await fitsWidth(page)).toBe(true);
      for (const svg of await page.locator('svg[role=img]').all()) expect((await svg.boundingBox())!.width).toBeLessThanOrEqual(phone.width);
      await page.screenshot({ path: join(artifacts, 'console-deliveries-phone.png'), fullPage: true });
    } finally {
      await ctx.close();
    }
  });
});

describe('the daily rollup', () => {
  it("the migration's one-time fill from the recorded rows counts what the triggers counted", async () => {
    // The fill is the migration's last statement: its SELECT, run now over this tenant's rows.
    const dir = join(import.meta.dirname, '..', 'db', 'migrations');
    const migration = readFileSync(
      join(
        dir,
        readdirSync(dir).find((f) => f.endsWith('_delivery_daily.sql'))!,
      ),
      'utf8',
    );
    const fill = /\nSELECT day, tenant_id, channel, provider[\s\S]*?GROUP BY day, tenant_id, channel, provider/.exec(migration)![0];
    const measures =
      'sum(sent)::int as sent, sum(delivered)::int as delivered, sum(deferred)::int as deferred, sum(bounced)::int as bounced, sum(complained)::int as complained, sum(suppressed)::int as suppressed';
    for (const tenant of [engine.tenantId, other.tenantId]) {
      const [filled] = await engine.database.sql.unsafe(`select ${measures} from (${fill}) f where tenant_id = $1`, [tenant]);
      const [kept] = await engine.database.sql.unsafe(`select ${measures} from delivery_daily where tenant_id = $1`, [tenant]);
      expect(kept, tenant).toEqual(filled);
    }
    const [ours] = await engine.database.sql.unsafe(`select ${measures} from delivery_daily where tenant_id = $1`, [engine.tenantId]);
    expect(ours).toEqual({ sent: 5, delivered: 4, deferred: 1, bounced: 1, complained: 1, suppressed: 1 });
  });
});
