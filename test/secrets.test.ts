// Secrets a tenant or operator holds: the status-webhook secret is random per tenant, shown
// once and rotatable; the production entry points refuse a short operator key and a missing
// public URL. (Unknown API keys: test/api-auth-limits.test.ts.)
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox } from '../config/secrets.js';
import { domainChecks } from '../domain/monitor/domain-check.js';
import { createEgressPolicy } from '../domain/webhooks/egress.js';
import { signatureHeader, verifyWebhookSignature } from '../domain/webhooks/sign.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { startHttpReceiver } from './helpers/http-receiver.js';
import { putUser, settled, trigger } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

let engine: TestEngine;
let hook: Awaited<ReturnType<typeof startHttpReceiver>>;

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows(), ips: ['127.0.0.36'] });
  hook = await startHttpReceiver();
});
afterAll(async () => {
  await hook?.close();
  await engine?.stop();
});

const json = async (res: Response) => (await res.json()) as { url?: string; secret: string | null };

/** Triggers one alert and returns the signature header of the webhook that reported it. */
async function webhookFor(user: string, key: string) {
  const id = await trigger(engine, user, key);
  await settled(engine, id);
  return waitUntil(async () => hook.requests.find((r) => r.body.includes(id)), 30_000, 'status webhook');
}

describe('status webhook secret', () => {
  it('is random per tenant, shown once, never read back, and rotatable', async () => {
    const first = await json(await engine.request('PUT', '/v1/webhook', { body: { url: `${hook.url}/a` } }));
    expect(first.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect((await json(await engine.request('GET', '/v1/webhook'))).secret).toBeNull();
    expect((await json(await engine.request('PUT', '/v1/webhook', { body: { url: `${hook.url}/b` } }))).secret).toBeNull();

    const other = await engine.addTenant();
    const theirs = await json(await engine.request('PUT', '/v1/webhook', { body: { url: `${hook.url}/c` }, key: other.apiKey }));
    expect(theirs.secret).toMatch(/^whsec_/);
    expect(theirs.secret).not.toBe(first.secret);

    await putUser(engine, 'rita', { email: 'rita@example.fr' }, { transactions: ['email'] });
    const signedOld = await webhookFor('rita', 'rita-1');
    expect(verifyWebhookSignature(first.secret!, signedOld.headers[signatureHeader.toLowerCase()] as string, signedOld.body)).toBe(true);

    const rotated = await engine.request('POST', '/v1/webhook/secret');
    expect(rotated.status).toBe(201);
    const next = (await json(rotated)).secret!;
    expect(next).toMatch(/^whsec_/);
    expect(next).not.toBe(first.secret);
    const signedNew = await webhookFor('rita', 'rita-2');
    const header = signedNew.headers[signatureHeader.toLowerCase()] as string;
    expect(verifyWebhookSignature(next, header, signedNew.body)).toBe(true);
    expect(verifyWebhookSignature(first.secret!, header, signedNew.body)).toBe(false);
  });
});

describe('domain events', () => {
  it("are signed with the tenant's issued webhook secret, as its status webhooks are", async () => {
    const issued = await json(await engine.request('PUT', '/v1/webhook', { body: { url: `${hook.url}/domain` } }));
    const secret = issued.secret ?? (await json(await engine.request('POST', '/v1/webhook/secret'))).secret!;
    const checks = domainChecks({
      db: engine.database.db,
      secrets: createSecretBox(Buffer.from(engine.secretKey, 'base64')),
      egress: createEgressPolicy(['127.0.0.0/8']),
    });
    await checks.postDomainEvent({ type: 'domain.dns_regressed', tenantId: engine.tenantId, domain: `${engine.tenantId}.bank.test` });
    const posted = await waitUntil(
      async () => hook.requests.find((r) => r.path === '/domain' && r.body.includes('domain.dns_regressed')),
      10_000,
      'domain event',
    );
    expect(verifyWebhookSignature(secret, posted.headers[signatureHeader.toLowerCase()] as string, posted.body)).toBe(true);
  });
});

describe('production entry points', () => {
  const run = (script: string, env: Record<string, string>) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['ADMIN_API_KEY', 'PUBLIC_URL'].includes(k)));
    return spawnSync(process.execPath, ['--import', 'tsx', script], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 60_000 });
  };

  it('the API refuses an ADMIN_API_KEY under 32 characters', () => {
    const r = run('bin/api.ts', { ADMIN_API_KEY: 'short-admin-key' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('ADMIN_API_KEY must be at least 32 characters');
  });

  it('the worker refuses to start without PUBLIC_URL', () => {
    const r = run('bin/worker.ts', {});
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('PUBLIC_URL is required');
  });
});
