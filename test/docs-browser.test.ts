// /docs in a real Chromium with every request off this machine refused: the reference page and
// its script come from the API itself (no CDN), under a CSP, and list the API's operations.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../api/app.js';
import { serveApi } from '../api/serve.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let server: ReturnType<typeof serveApi>;
let base: string;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  // The page needs no database or Temporal: it reads the generated document.
  const app = createApi({ db: undefined as never, temporal: undefined as never, taskQueue: 'docs' });
  server = serveApi(app.fetch, { hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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
  });
});
afterAll(async () => {
  await context?.close();
  await new Promise((r) => server?.close(r));
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('/docs', () => {
  it('renders the operations offline, with every script from this origin and no CSP violation', async () => {
    const offMachine: string[] = [];
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1' || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
      offMachine.push(url.origin);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    const res = await page.goto(`${base}/docs`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    const scripts = await page.locator('script').evaluateAll((els) => els.map((e) => (e as HTMLScriptElement).src));
    expect(scripts.every((src) => src.startsWith(`${base}/docs/assets/`))).toBe(true);

    // Operations from the generated document, listed by their summaries.
    await expect.poll(() => page.getByText('Liveness').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    for (const summary of [
      "The Firebase project the tenant's pushes go to (the key itself is never shown)",
      'This document, generated from the route declarations',
    ])
      expect(await page.getByText(summary).count()).toBeGreaterThan(0);
    expect(offMachine).toEqual([]);
    expect(violations).toEqual([]);
  });

  it('serves the script under a versioned URL cached for good', async () => {
    const html = await (await fetch(`${base}/docs`)).text();
    const src = /<script src="(\/docs\/assets\/api-reference-[\d.]+\.js)"/.exec(html)?.[1];
    expect(src).toBeDefined();
    const js = await fetch(`${base}${src}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await js.text()).length).toBeGreaterThan(1_000_000);
  });
});
