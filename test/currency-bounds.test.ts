// A tenant's data keys the renderer's formatter caches (currency) and so do users' locales: a
// currency that is not ISO 4217 is refused at trigger and preview, and the caches stay bounded
// whatever is formatted (the worker's heap must not grow with what tenants send).
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications } from '../db/schema.js';
import { formatCacheMax, formatCacheSizes, formatMoney, formatTimestamp } from '../templates/format.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true });
  expect((await engine.request('PUT', '/v1/users/carla', { body: { email: 'carla@example.fr' } })).status).toBe(201);
});
afterAll(async () => engine?.stop());

const longCurrency = 'X'.repeat(2000);
const data = (currency: string) => ({ amount: 42.5, currency, merchant: 'Boulangerie Paul', accountLast4: '1234' });

describe('currency at the API', () => {
  it('a trigger with a 2,000-character currency is refused (422, naming data.currency), and nothing is stored', async () => {
    const res = await engine.request('POST', '/v1/notifications', {
      body: { userId: 'carla', type: 'account.transaction', data: data(longCurrency) },
      headers: { 'idempotency-key': 'long-currency' },
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const problem = (await res.json()) as { detail: string; errors: { path: string; message: string }[] };
    expect(problem.detail).toContain('currency');
    expect(problem.errors).toEqual([{ path: 'body.data.currency', message: expect.stringContaining('ISO 4217') }]);
    expect(await engine.database.db.select().from(notifications).where(eq(notifications.tenantId, engine.tenantId))).toEqual([]);
  });

  it('three letters that are no currency, and a lower-case code, are refused too; EUR is accepted', async () => {
    for (const currency of ['QQQ', 'eur']) {
      const res = await engine.request('POST', '/v1/notifications', {
        body: { userId: 'carla', type: 'account.transaction', data: data(currency) },
        headers: { 'idempotency-key': `bad-${currency}` },
      });
      expect(res.status, currency).toBe(422);
    }
    const ok = await engine.request('POST', '/v1/notifications', {
      body: { userId: 'carla', type: 'account.transaction', data: data('EUR') },
      headers: { 'idempotency-key': 'good-eur' },
    });
    expect(ok.status).toBe(202);
  });

  it('a preview with a 2,000-character currency is refused (422, naming data.currency)', async () => {
    const res = await engine.request('POST', '/v1/notification-types/account.transaction/preview', {
      body: { locale: 'fr', data: data(longCurrency) },
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const problem = (await res.json()) as { detail: string; errors: { path: string }[] };
    expect(problem.errors.map((e) => e.path)).toEqual(['body.data.currency']);
    const good = await engine.request('POST', '/v1/notification-types/account.transaction/preview', { body: { locale: 'fr', data: data('EUR') } });
    expect(good.status).toBe(200);
    expect(((await good.json()) as { email: { text: string } }).email.text).toContain('42,50\u00a0€');
  });
});

describe('formatter caches', () => {
  it('hold at most formatCacheMax formatters however many locales, zones and currencies are formatted, and still format right', () => {
    const codes = Intl.supportedValuesOf('currency');
    const zones = Intl.supportedValuesOf('timeZone');
    const regions = ['FR', 'BE', 'CH', 'DE', 'NL', 'GB', 'US', 'CA', 'LU', 'AT'];
    for (const region of regions) {
      for (const code of codes) formatMoney(1, code, `fr-${region}`);
      for (const zone of zones.slice(0, 100)) formatTimestamp('2025-03-14T09:30:00Z', `en-${region}`, zone);
    }
    // Far more distinct keys than the bound went through both caches.
    expect(regions.length * codes.length).toBeGreaterThan(2 * formatCacheMax);
    expect(regions.length * 100).toBeGreaterThan(2 * formatCacheMax);
    expect(formatCacheSizes().numbers).toBeLessThanOrEqual(formatCacheMax);
    expect(formatCacheSizes().dates).toBeLessThanOrEqual(formatCacheMax);
    // Unknown codes, however long, never get a formatter of their own.
    const before = formatCacheSizes().numbers;
    for (let i = 0; i < 1000; i++) expect(formatMoney(2, `${longCurrency}${i}`, 'fr')).toBe(`2,00 ${longCurrency}${i}`);
    expect(formatCacheSizes().numbers).toBe(before);
    // Evicted formatters are built again: the answers do not change.
    expect(formatMoney(1234.5, 'EUR', 'fr')).toBe('1\u202f234,50\u00a0€');
    expect(formatMoney(1234.5, 'EUR', 'FR_fr')).toBe('1\u202f234,50\u00a0€');
    expect(formatTimestamp('2025-03-14T09:30:00Z', 'en', 'America/New_York')).toContain('March 14, 2025 at 5:30');
  });
});
