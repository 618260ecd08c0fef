import { mkdtempSync, rmSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { and, eq } from 'drizzle-orm';
import { users } from '../db/schema.js';
import { issueUnsubscribeToken, unsubscribeLink } from '../domain/feedback/unsubscribe-token.js';
import { putUser, settled, trigger } from './helpers/notify.js';

// Debian's chromium (no browser download) drives the server-rendered pages over a real socket.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const artifacts = join(import.meta.dirname, 'artifacts');
const adminKey = `nf_admin_test_${Math.random().toString(36).slice(2)}`;

let engine: TestEngine;
let base: string;
let server: ReturnType<typeof serve>;
const dirs: string[] = [];

async function browser(opts: { javaScriptEnabled?: boolean } = {}): Promise<BrowserContext> {
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
    javaScriptEnabled: opts.javaScriptEnabled ?? true,
    locale: 'en-GB',
  });
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  engine = await startTestEngine({
    bundle: await bundleWorkflows(),
    ips: [`127.0.${Math.floor(Math.random() * 250) + 1}.9`, `127.0.${Math.floor(Math.random() * 250) + 1}.10`],
    api: { adminKey },
  });
  server = serve({ fetch: engine.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await engine?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${engine.apiKey}`, ...init.headers } });

describe('the preference centre in Chromium', () => {
  it('shows a French user her page in French with security locked, and saves a toggle changed by keyboard, without JavaScript', async () => {
    await putUser(engine, 'alice', { email: 'alice@example.fr', locale: 'fr', timezone: 'Europe/Paris' }, { transactions: ['email'] });
    const linkRes = await api('/v1/users/alice/preference-link', { method: 'POST' });
    expect(linkRes.status).toBe(201);
    const { url, expiresAt } = (await linkRes.json()) as { url: string; expiresAt: string };
    expect(url.startsWith(`${base}/preferences/`)).toBe(true);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());

    const ctx = await browser({ javaScriptEnabled: false });
    try {
      const page = await ctx.newPage();
      const res = await page.goto(url);
      expect(res?.status()).toBe(200);
      expect(await page.getAttribute('html', 'lang')).toBe('fr');
      await expect.poll(() => page.locator('h1').textContent()).toBe('Vos préférences de notification');
      // Security: locked, with the reason, its switches disabled.
      const security = page.locator('#cat-security');
      expect(await security.locator('legend').textContent()).toBe('Alertes de sécurité');
      expect(await security.textContent()).toContain('Toujours activé');
      expect(await security.textContent()).toContain('Les alertes de sécurité protègent votre compte');
      expect(await security.locator('input[type=checkbox]').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).disabled))).toEqual([
        true,
        true,
      ]);
      // Each switch has a label a screen reader reads.
      expect(await page.getByLabel('Notification push').count()).toBeGreaterThan(1);
      // A GET changes nothing.
      expect(
        ((await (await api('/v1/users/alice/preferences')).json()) as { categories: Record<string, { channels: string[] }> }).categories.transactions!
          .channels,
      ).toEqual(['email']);

      // Keyboard: focus the transactions push switch, Space toggles it, then submit.
      const push = page.locator('#c-transactions-push');
      await push.focus();
      await page.keyboard.press('Space');
      expect(await push.isChecked()).toBe(true);
      await page.screenshot({ path: join(artifacts, 'preference-centre-fr.png'), fullPage: true });
      await page.getByRole('button', { name: 'Enregistrer mes préférences' }).press('Enter');
      await page.waitForURL(/saved=1/);
      expect(await page.getByRole('status').textContent()).toBe('Vos préférences ont été enregistrées.');
      expect(await page.locator('#c-transactions-push').isChecked()).toBe(true);
      await page.screenshot({ path: join(artifacts, 'preference-centre-fr-saved.png'), fullPage: true });

      const prefs = (await (await api('/v1/users/alice/preferences')).json()) as {
        categories: Record<string, { channels: string[]; optedInAt: string | null }>;
      };
      expect(prefs.categories.transactions!.channels.sort()).toEqual(['email', 'push']);
      expect(prefs.categories.marketing!.optedInAt).toBeNull();

      // Marketing without the consent box: refused, nothing saved; with it: the opt-in is recorded.
      await page.locator('#c-marketing-email').check();
      await page.getByRole('button', { name: 'Enregistrer mes préférences' }).click();
      expect(await page.getByRole('alert').textContent()).toContain('cochez la case de consentement');
      const unchanged = (await (await api('/v1/users/alice/preferences')).json()) as typeof prefs;
      expect(unchanged.categories.marketing!.channels).toEqual([]);
      await page.locator('#c-marketing-email').check();
      await page.getByLabel(/J’accepte de recevoir les actualités/).check();
      await page.getByRole('button', { name: 'Enregistrer mes préférences' }).click();
      await page.waitForURL(/saved=1/);
      const opted = (await (await api('/v1/users/alice/preferences')).json()) as typeof prefs;
      expect(opted.categories.marketing!.channels).toEqual(['email']);
      expect(opted.categories.marketing!.optedInAt).not.toBeNull();
      // The opt-in is in the consent ledger, from the page, with the version of the text shown.
      const exported = (await (await api('/v1/users/alice/export')).json()) as {
        consentHistory: { category: string; action: string; source: string; textVersion: string | null }[];
      };
      const optIn = exported.consentHistory.filter((r) => r.category === 'marketing' && r.action === 'opt_in');
      expect(optIn).toHaveLength(1);
      expect(optIn[0]).toMatchObject({ source: 'preference-page' });
      expect(optIn[0]!.textVersion).toMatch(/^marketing:[0-9a-f]{12}$/);
    } finally {
      await ctx.close();
    }
  });

  it('refuses a save without the CSRF token, and a forged or tampered link', async () => {
    const { url } = (await (await api('/v1/users/alice/preference-link', { method: 'POST' })).json()) as { url: string };
    const post = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'c:transactions=push' });
    expect(post.status).toBe(403);
    const tampered = await fetch(url.slice(0, -2) + (url.endsWith('AA') ? 'BB' : 'AA'));
    expect(tampered.status).toBe(403);
    expect(tampered.headers.get('content-type')).toMatch(/text\/html/);
    expect((await fetch(`${base}/preferences/not-a-token`)).status).toBe(400);

    // The unsubscribe page links to the same user's preference centre, where things can only be turned off.
    await putUser(engine, 'aline', { email: 'aline@example.fr', locale: 'fr' }, { transactions: ['email', 'push'] });
    const [user] = await engine.database.db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.tenantId, engine.tenantId), eq(users.externalId, 'aline')));
    const unsubscribe = unsubscribeLink(
      base,
      await issueUnsubscribeToken(engine.database.db, { tenantId: engine.tenantId, userId: user!.id, category: 'transactions' }),
    );
    const ctx = await browser({ javaScriptEnabled: false });
    try {
      const page = await ctx.newPage();
      await page.goto(unsubscribe);
      // aline reads French: the unsubscribe page speaks her language too.
      expect(await page.locator('h1').textContent()).toBe('Se désabonner');
      await page.getByRole('link', { name: 'Désactiver d’autres notifications' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Vos préférences de notification');
      expect(await page.locator('#opt-out-only').textContent()).toContain('cette page peut seulement désactiver des notifications');
      // Marketing is off: its switches cannot be turned on, and there is no consent box to tick.
      expect(
        await page.locator('#cat-marketing input[type=checkbox]').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).disabled)),
      ).toEqual([true, true]);
      expect(await page.getByLabel(/J’accepte de recevoir les actualités/).count()).toBe(0);
      await page.screenshot({ path: join(artifacts, 'preference-centre-opt-out-fr.png'), fullPage: true });
      await page.locator('#c-transactions-push').uncheck();
      await page.getByRole('button', { name: 'Enregistrer mes préférences' }).click();
      await page.waitForURL(/saved=1/);
      expect(await page.getByRole('status').textContent()).toBe('Vos préférences ont été enregistrées.');
    } finally {
      await ctx.close();
    }
    const prefs = (await (await api('/v1/users/aline/preferences')).json()) as {
      categories: Record<string, { channels: string[]; optedInAt: string | null }>;
    };
    expect(prefs.categories.transactions!.channels).toEqual(['email']);
    expect(prefs.categories.marketing!.optedInAt).toBeNull();
  });
});

describe('the unsubscribe page in Chromium', () => {
  it("unsubscribes a person in the user's language, and says so when the link is used up", async () => {
    await putUser(engine, 'ulla', { email: 'ulla@example.de', locale: 'de' }, { transactions: ['email', 'push'] });
    const [user] = await engine.database.db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.tenantId, engine.tenantId), eq(users.externalId, 'ulla')));
    const link = unsubscribeLink(
      base,
      await issueUnsubscribeToken(engine.database.db, { tenantId: engine.tenantId, userId: user!.id, category: 'transactions' }),
    );
    const ctx = await browser({ javaScriptEnabled: false });
    try {
      const page = await ctx.newPage();
      await page.goto(link);
      expect(await page.locator('h1').textContent()).toBe('Abmelden');
      expect(await page.locator('main').textContent()).toContain('Keine E-Mails mehr zu „Umsätze“?');
      await page.getByRole('button', { name: 'Abmelden' }).click();
      expect(await page.getByRole('status').textContent()).toBe('Sie erhalten keine E-Mails mehr zu „Umsätze“.');
      await page.screenshot({ path: join(artifacts, 'unsubscribe-done.png') });

      const prefs = (await (await api('/v1/users/ulla/preferences')).json()) as { categories: Record<string, { channels: string[] }> };
      expect(prefs.categories.transactions!.channels).toEqual(['push']);

      // The link worked once: a second visit gets a page (410) saying it is no longer valid, in
      // the browser's language (en-GB here), since a dead link no longer vouches for a user.
      const again = await page.goto(link);
      expect(again!.status()).toBe(410);
      expect(await page.getByRole('alert').textContent()).toContain('This unsubscribe link is no longer valid');
    } finally {
      await ctx.close();
    }
    // A client that does not ask for HTML (a mailbox provider) still gets the problem.
    const machine = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(machine.status).toBe(410);
    expect(machine.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });
});

describe('the operator console in Chromium', () => {
  it("signs in, shows the pool's IPs with scores, suspends and resumes an IP, signs out", async () => {
    // One delivered notification gives the first source a recorded outcome.
    await putUser(engine, 'carl', { email: 'carl@example.com', locale: 'en', timezone: 'Europe/London' }, { transactions: ['email'] });
    expect((await settled(engine, await trigger(engine, 'carl', 'console-1'))).status).toBe('delivered');

    const ctx = await browser();
    try {
      const page = await ctx.newPage();
      await page.goto(`${base}/console`);
      expect(await page.locator('h1').textContent()).toBe('Sign in');
      await page.getByLabel('Admin key').fill('wrong key');
      await page.getByRole('button', { name: 'Sign in' }).click();
      expect(await page.getByRole('alert').textContent()).toContain('not the admin key');
      await page.getByLabel('Admin key').fill(adminKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${base}/console`);
      expect(await page.locator('h1').textContent()).toBe('Operator console');
      const cookie = (await ctx.cookies()).find((c) => c.name === 'nf_console');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });

      // Tenants, then the pool's two IPs, each with its score and a 7-day chart.
      expect(await page.locator('#h-tenants + table').textContent()).toContain(engine.tenantId);
      const [ip1, ip2] = engine.ips;
      const first = page.locator('article.ip', { hasText: ip1! });
      expect(await page.locator('article.ip', { hasText: ip2! }).count()).toBe(1);
      const score = await first.locator('.score').textContent();
      expect(score).toMatch(/^\d+(\.\d+)?$/);
      expect(Number(score)).toBeLessThanOrEqual(100);
      expect(await first.locator('svg[role=img] polyline').count()).toBeGreaterThan(0);
      expect(await first.locator('.state').textContent()).toMatch(/active|warming/);
      await page.screenshot({ path: join(artifacts, 'console-overview.png'), fullPage: true });

      const id = `${engine.tenantId}-ip1`;
      await first.getByRole('button', { name: `Suspend ${ip1}` }).click();
      await page.waitForURL(/done=/);
      expect(await page.getByRole('status').textContent()).toBe(`${ip1} suspended`);
      expect(await page.locator(`#ip-${id} .state`).textContent()).toBe('suspended');
      const admin = (path: string) =>
        fetch(`${base}${path}`, { headers: { authorization: `Bearer ${adminKey}` } }).then(
          (r) => r.json() as Promise<{ state: string; controls: { kind: string; setBy: string }[] }>,
        );
      expect((await admin(`/v1/admin/ips/${id}`)).controls).toEqual([expect.objectContaining({ kind: 'suspend', setBy: 'operator' })]);
      await page.screenshot({ path: join(artifacts, 'console-suspended.png'), fullPage: true });

      await page
        .locator(`#ip-${id}`)
        .getByRole('button', { name: `Resume ${ip1}` })
        .click();
      await page.waitForURL(/done=/);
      expect(await page.getByRole('status').textContent()).toBe(`${ip1} resumed`);
      expect((await admin(`/v1/admin/ips/${id}`)).controls).toEqual([]);

      // A POST carrying the session cookie but no CSRF token is refused and changes nothing.
      const forged = await fetch(`${base}/console/ips/${id}/suspend`, {
        method: 'POST',
        headers: { cookie: `nf_console=${cookie!.value}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'provider=*&minutes=60&reason=x',
      });
      expect(forged.status).toBe(403);
      expect((await admin(`/v1/admin/ips/${id}`)).controls).toEqual([]);

      await page.getByRole('button', { name: 'Sign out' }).click();
      expect(await page.locator('h1').textContent()).toBe('Sign in');
      expect((await ctx.cookies()).find((c) => c.name === 'nf_console')).toBeUndefined();
    } finally {
      await ctx.close();
    }
  });
});
