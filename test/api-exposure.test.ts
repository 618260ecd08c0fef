import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { users } from '../db/schema.js';
import { freePort } from '../dev/ports.js';
import { issueUnsubscribeToken } from '../domain/feedback/unsubscribe-token.js';
import { startApiProcess, type ApiProcess } from './helpers/api-process.js';
import { putUser } from './helpers/notify.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

// What the production entry point (bin/api.ts) serves on which address: the pages-only process
// (API_SERVE=pages) and the metrics kept off the public port (API_METRICS_ADDRESS).

const ADMIN_KEY = `nf_admin_${randomBytes(24).toString('hex')}`;
let engine: TestEngine;
const started: ApiProcess[] = [];

beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true, api: { adminKey: ADMIN_KEY } });
});
afterAll(async () => {
  for (const p of started) p.stop();
  await engine?.stop();
});

/** bin/api.ts on a free port against the suite's Postgres and Temporal, with this engine's SECRET_KEY (so its links verify). */
async function startApi(extra: Record<string, string>): Promise<string> {
  const port = await freePort();
  const p = await startApiProcess(
    {
      DATABASE_URL: inject('databaseUrl'),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_PAYLOAD_KEYS: `k:${randomBytes(32).toString('base64')}`,
      SECRET_KEY: engine.secretKey,
      ADMIN_API_KEY: ADMIN_KEY,
      API_PORT: String(port),
      PUBLIC_URL: 'https://notify.example.test',
      LOG_LEVEL: 'info',
      ...extra,
    },
    { keep: true },
  );
  started.push(p);
  expect(p.code, p.stderr).toBeNull();
  return `http://127.0.0.1:${port}`;
}

const call = (url: string, init: { method?: string; key?: string; body?: string; type?: string; accept?: string } = {}) =>
  fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
      ...(init.type ? { 'content-type': init.type } : {}),
      ...(init.accept ? { accept: init.accept } : {}),
    },
    body: init.body,
  });

describe('API_SERVE=pages', () => {
  it('serves the preference centre, the unsubscribe page and the one-click POST, and nothing of the tenant, admin or operator API', async () => {
    const pages = await startApi({ API_SERVE: 'pages' });
    await putUser(engine, 'pia', { email: 'pia@example.org', locale: 'en' }, { transactions: ['email', 'push'] });
    const [pia] = await engine.database.db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.tenantId, engine.tenantId), eq(users.externalId, 'pia')));

    // The pages: a preference link minted by the tenant API (elsewhere), the unsubscribe link from a message.
    const link = (await (await engine.request('POST', '/v1/users/pia/preference-link')).json()) as { url: string };
    const prefs = await call(`${pages}${new URL(link.url).pathname}`);
    expect(prefs.status).toBe(200);
    expect(prefs.headers.get('content-type')).toContain('text/html');
    const token = await issueUnsubscribeToken(engine.database.db, { tenantId: engine.tenantId, userId: pia!.id, category: 'transactions' });
    const confirm = await call(`${pages}/v1/unsubscribe/${token}`, { accept: 'text/html' });
    expect(confirm.status).toBe(200);
    expect(confirm.headers.get('content-type')).toContain('text/html');
    const oneClick = await call(`${pages}/v1/unsubscribe/${token}`, {
      method: 'POST',
      type: 'application/x-www-form-urlencoded',
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(200);
    const after = (await (await engine.request('GET', '/v1/users/pia/preferences')).json()) as { categories: Record<string, { channels: string[] }> };
    expect(after.categories.transactions!.channels).toEqual(['push']);

    // Nothing else: tenant keys, the admin key and the operator's tools find no route there.
    const refused = [
      await call(`${pages}/v1/users/pia`, { method: 'PUT', key: engine.apiKey, type: 'application/json', body: '{"email":"x@example.org"}' }),
      await call(`${pages}/v1/users/pia/preferences`, { key: engine.apiKey }),
      await call(`${pages}/v1/admin/tenants`, { key: ADMIN_KEY }),
      await call(`${pages}/v1/admin/console-sessions`, { method: 'DELETE', key: ADMIN_KEY }),
      await call(`${pages}/console`),
      await call(`${pages}/codec/decode`, { method: 'POST', key: ADMIN_KEY, type: 'application/json', body: '{"payloads":[]}' }),
      await call(`${pages}/metrics`),
      await call(`${pages}/openapi.json`),
      await call(`${pages}/v1/feedback/reports`, { method: 'POST', type: 'application/json', body: '{}' }),
    ];
    expect(refused.map((r) => r.status)).toEqual(refused.map(() => 404));
    expect((await engine.request('GET', '/v1/users/pia')).status).toBe(200);
  });
});

describe('metrics', () => {
  it('are not on the public API port by default; API_METRICS_ADDRESS serves them on their own listener', async () => {
    const metricsAddress = `127.0.0.1:${await freePort()}`;
    const api = await startApi({ API_METRICS_ADDRESS: metricsAddress });
    expect(started.at(-1)!.listening).toContain(`http://${metricsAddress}/metrics`);
    const onApi = await call(`${api}/metrics`);
    expect(onApi.status).toBe(404);
    expect(await onApi.text()).not.toContain('notiflow_notifications');
    expect((await call(`${api}/health`)).status).toBe(200);

    const apart = await call(`http://${metricsAddress}/metrics`);
    expect(apart.status).toBe(200);
    expect(apart.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await apart.text();
    expect(text).toContain('notiflow_postgres_pool_max 20');
    expect(text).toContain('# TYPE notiflow_notifications gauge');
  });
});
