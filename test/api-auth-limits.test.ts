// The unknown-key limit slows whoever sends wrong keys and no one else: a valid key is always looked
// up and served, whoever shares its address (a proxy, a load balancer); a wrong key always gets 401,
// held a while past the limit. The client is the socket peer, or, behind a trusted proxy
// (TRUSTED_PROXIES), the right-most X-Forwarded-For hop no trusted proxy wrote. And the key is
// checked before a body is parsed: an unauthenticated request's body is never read for its strings,
// and only an authenticated batch call may send more than 64 KiB.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../api/app.js';
import { serveApi } from '../api/serve.js';
import { parseEnv } from '../config/env.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

let engine: TestEngine;
let base: string;
let proxied: string;
let closeProxied: () => Promise<void>;
const adminKey = 'nf_admin_auth_limits_test_key_0123456789';

beforeAll(async () => {
  // The default limit (30 unknown keys a minute per client), as in production.
  engine = await startTestEngine({ noWorker: true, api: { adminKey } });
  base = await engine.listen();
  // The same engine behind "a proxy on loopback": 127.0.0.0/8 is trusted to name the client.
  const app = createApi({
    db: engine.database.db,
    temporal: engine.client,
    taskQueue: engine.taskQueue,
    trustedProxies: ['127.0.0.0/8'],
    unknownKeysPerMinute: 3,
  });
  const server = serveApi(app.fetch, { hostname: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  proxied = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closeProxied = () => new Promise<void>((resolve) => server.close(() => resolve()));
});
afterAll(async () => {
  await closeProxied?.();
  await engine?.stop();
});

interface Answer {
  status: number;
  type: string | null;
  retryAfter: string | null;
  detail: string;
}
async function get(url: string, key: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}`, ...headers } });
  const body = (await res.json()) as { detail?: string };
  return { status: res.status, type: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), detail: body.detail ?? '' };
}

describe('unknown API keys', () => {
  it('35 wrong keys from one address (X-Forwarded-For ignored without trusted proxies) get 401, then another tenant’s valid key from that address is served', async () => {
    const wrong: Answer[] = [];
    for (let i = 0; i < 35; i++) wrong.push(await get(`${base}/v1/webhook`, `nf_guess_${i}`, { 'x-forwarded-for': `203.0.113.${i}` }));
    expect(wrong.map((a) => a.status)).toEqual(Array(35).fill(401));
    expect(wrong.every((a) => a.type?.startsWith('application/problem+json'))).toBe(true);
    // Under the limit: the plain refusal. Past it: still 401, held, and charged to the socket peer (a client's own header is not believed).
    expect(wrong[29]!.detail).toBe('The API key is not valid');
    expect(wrong[29]!.retryAfter).toBeNull();
    for (const a of wrong.slice(30)) {
      expect(a.detail).toMatch(/too many unknown keys came from 127\.0\.0\.1 in the last minute/);
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
    }

    // A tenant whose key this process has never seen (nothing cached), from the same address, at once.
    const other = await engine.addTenant();
    const valid = await get(`${base}/v1/webhook`, other.apiKey);
    expect(valid.status).toBe(200);
    expect((await get(`${base}/v1/webhook`, engine.apiKey)).status).toBe(200);
  }, 120_000);

  it('behind a trusted proxy, the right-most X-Forwarded-For hop no trusted proxy wrote is the client that gets slowed', async () => {
    // 203.0.113.9 is the client: the left-most hop is whatever it wrote itself, 127.0.0.5 a proxy of ours.
    const asClient = { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' };
    const firsts = [];
    for (let i = 0; i < 3; i++) firsts.push(await get(`${proxied}/v1/webhook`, `nf_proxied_${i}`, asClient));
    expect(firsts.map((a) => [a.status, a.detail])).toEqual(Array(3).fill([401, 'The API key is not valid']));

    const held = await get(`${proxied}/v1/webhook`, 'nf_proxied_3', { 'x-forwarded-for': '203.0.113.9, 127.0.0.5' });
    expect(held.status).toBe(401);
    expect(held.detail).toMatch(/came from 203\.0\.113\.9 in the last minute/);

    // Another client behind the same proxy is not slowed, nor is the first client's own header believed over the proxy's.
    const neighbour = await get(`${proxied}/v1/webhook`, 'nf_proxied_4', { 'x-forwarded-for': '203.0.113.10' });
    expect([neighbour.status, neighbour.detail]).toEqual([401, 'The API key is not valid']);
    const forged = await get(`${proxied}/v1/webhook`, 'nf_proxied_5', { 'x-forwarded-for': '203.0.113.9, 198.51.100.2' });
    expect([forged.status, forged.detail]).toEqual([401, 'The API key is not valid']);

    // The slowed client's valid key is served.
    expect((await get(`${proxied}/v1/webhook`, engine.apiKey, asClient)).status).toBe(200);
  }, 60_000);

  it('TRUSTED_PROXIES takes addresses and CIDR ranges, and refuses anything else at start', () => {
    expect(parseEnv({ TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.7,2001:db8::/32' }).TRUSTED_PROXIES).toEqual([
      '10.0.0.0/8',
      '192.0.2.7',
      '2001:db8::/32',
    ]);
    expect(parseEnv({}).TRUSTED_PROXIES).toEqual([]);
    for (const bad of ['proxy.example', '10.0.0.0/33', '10.0.0.0/8/1'])
      expect(() => parseEnv({ TRUSTED_PROXIES: bad }), bad).toThrow(/TRUSTED_PROXIES: addresses or CIDR ranges/);
  });
});

describe('the key before the body', () => {
  const withNul = JSON.stringify({ email: 'a\u0000b@example.com' });

  it('a wrong tenant or operator key gets 401 without its body being read (a NUL in it is not even seen)', async () => {
    const headers = { 'content-type': 'application/json' };
    const tenant = await fetch(`${base}/v1/users/alice`, { method: 'PUT', headers: { ...headers, authorization: 'Bearer nf_wrong' }, body: withNul });
    expect(tenant.status).toBe(401);
    const admin = await fetch(`${base}/v1/admin/tenants`, {
      method: 'POST',
      headers: { ...headers, authorization: 'Bearer nf_wrong' },
      body: withNul,
    });
    expect(admin.status).toBe(401);
    // With the key, the same body is read and refused for its NUL.
    const keyed = await fetch(`${base}/v1/users/alice`, {
      method: 'PUT',
      headers: { ...headers, authorization: `Bearer ${engine.apiKey}` },
      body: withNul,
    });
    expect(keyed.status).toBe(400);
    expect(((await keyed.json()) as { detail: string }).detail).toMatch(/NUL character/);
    const operator = await fetch(`${base}/v1/admin/tenants`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${adminKey}` },
      body: withNul,
    });
    expect(operator.status).toBe(400);
  });

  it('a batch over 64 KiB is taken only with a valid key: 401 without one, whatever its size; 413 past 2 MiB with one', async () => {
    const item = (i: number) => ({ idempotencyKey: `big-${i}`, userId: 'nobody', type: 'account.transaction', data: { merchant: 'x'.repeat(1500) } });
    const big = JSON.stringify({ notifications: Array.from({ length: 100 }, (_, i) => item(i)) }); // ~160 KB
    const huge = JSON.stringify({ notifications: [{ ...item(0), data: { merchant: 'y'.repeat(3 * 1024 * 1024) } }] });
    const post = (key: string, body: string) =>
      fetch(`${base}/v1/notifications/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body,
      });
    expect((await post('nf_wrong', big)).status).toBe(401);
    expect((await post('nf_wrong', huge)).status).toBe(401);
    const accepted = await post(engine.apiKey, big);
    expect(accepted.status, await accepted.clone().text()).not.toBe(413);
    expect(accepted.status).toBeLessThan(500);
    expect((await post(engine.apiKey, huge)).status).toBe(413);
    // Any other route: 64 KiB, key or not.
    const other = await fetch(`${base}/v1/users/alice`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${engine.apiKey}` },
      body: JSON.stringify({ email: 'alice@example.fr', pad: 'z'.repeat(70_000) }),
    });
    expect(other.status).toBe(413);
  });
});
