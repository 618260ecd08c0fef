import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerType } from '@hono/node-server';
import { and, eq } from 'drizzle-orm';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { serveApi } from '../api/serve.js';
import { parseEnv } from '../config/env.js';
import { apiTlsFromEnv } from '../config/tls.js';
import { users } from '../db/schema.js';
import { createTestClientCa, createTestTls } from '../dev/test-ca.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

const adminKey = 'admin-key-for-the-tls-test-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'notiflow-api-tls-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
// The API's server certificate, the CA that issues the banks' client certificates, and a CA nobody configured.
const server = createTestTls(['api.test'], ['127.0.0.1']);
const clientCa = createTestClientCa('bank client CA');
const strangerCa = createTestClientCa('stranger CA');
const bankA = clientCa.issue('bank-a backend');
const unregistered = clientCa.issue('someone else');
const stranger = strangerCa.issue('bank-a backend');
const tlsEnv = {
  API_TLS_CERT_PATH: file('cert.pem', server.cert),
  API_TLS_KEY_PATH: file('key.pem', server.key),
  API_TLS_CLIENT_CA_PATH: file('client-ca.pem', clientCa.caPem),
};

let engine: TestEngine;
let other: { tenantId: string; apiKey: string };
const servers: ServerType[] = [];
const agents: Agent[] = [];

/** Serves the engine's app over TLS as bin/api.ts does, from API_TLS_* variables. */
async function listen(clientAuth: 'off' | 'request' | 'require'): Promise<string> {
  const tls = apiTlsFromEnv(
    parseEnv({ ...tlsEnv, API_TLS_CLIENT_AUTH: clientAuth, ...(clientAuth === 'off' ? { API_TLS_CLIENT_CA_PATH: undefined } : {}) }),
  );
  const s = serveApi(engine.app.fetch, { hostname: '127.0.0.1', port: 0, tls: tls!.serverOptions });
  await new Promise((resolve) => s.once('listening', resolve));
  servers.push(s);
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** A client that trusts the API's CA, presenting `identity` when given. */
function client(identity?: { cert: string; key: string }) {
  const agent = new Agent({ connect: { ca: server.caPem, ...identity } });
  agents.push(agent);
  return (url: string, init: { method?: string; key?: string; body?: unknown } = {}) =>
    fetch(url, {
      dispatcher: agent,
      method: init.method ?? 'GET',
      headers: {
        ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    });
}

const admin = (path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') =>
  engine.app.request(path, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const userRow = (tenantId: string, id: string) =>
  engine.database.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.externalId, id)));

beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true, api: { adminKey } });
  other = await engine.addTenant();
});
afterAll(async () => {
  await Promise.allSettled(agents.map((a) => a.destroy()));
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await engine?.stop();
});

describe('HTTPS', () => {
  it('answers with the configured certificate; plain HTTP on the port and clients that do not trust the CA get nothing', async () => {
    const at = await listen('off');
    const res = await client()(`https://${at}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });

    await expect(fetch(`http://${at}/health`)).rejects.toThrow();
    const untrusting = new Agent();
    agents.push(untrusting);
    await expect(fetch(`https://${at}/health`, { dispatcher: untrusting })).rejects.toThrow();
  });

  it('answers carry Strict-Transport-Security over HTTPS, and not over plain HTTP', async () => {
    const at = await listen('off');
    const res = await client()(`https://${at}/health`);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000');
    const problem = await client()(`https://${at}/v1/users/x`);
    expect(problem.status).toBe(401);
    expect(problem.headers.get('strict-transport-security')).toBe('max-age=31536000');
    const plain = await engine.request('GET', '/health', { key: null });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('strict-transport-security')).toBeNull();
  });

  it('a refused body still gets its answer over TLS (413 problem+json, not a reset)', async () => {
    const at = await listen('off');
    const res = await client()(`https://${at}/v1/users/big`, {
      method: 'PUT',
      key: engine.apiKey,
      body: JSON.stringify({ email: 'x'.repeat(1024 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('client certificates (mTLS), required', () => {
  let at: string;
  beforeAll(async () => {
    at = await listen('require');
  });

  it('an operator registers a certificate for a tenant; it belongs to one tenant only', async () => {
    const created = await admin(`/v1/admin/tenants/${engine.tenantId}/client-certificates`, { certificate: bankA.cert, name: 'bank-a backend' });
    expect(created.status, await created.clone().text()).toBe(201);
    const view = (await created.json()) as { fingerprint: string; subject: string };
    expect(view.fingerprint).toBe(new X509Certificate(bankA.cert).fingerprint256);
    expect(view.subject).toContain('CN=bank-a backend');

    const listed = (await (await admin(`/v1/admin/tenants/${engine.tenantId}/client-certificates`)).json()) as {
      certificates: { fingerprint: string }[];
    };
    expect(listed.certificates.map((c) => c.fingerprint)).toEqual([view.fingerprint]);
    const again = await admin(`/v1/admin/tenants/${other.tenantId}/client-certificates`, {
      fingerprint: view.fingerprint.replace(/:/g, '').toLowerCase(),
    });
    expect(again.status).toBe(409);
    const garbage = await admin(`/v1/admin/tenants/${engine.tenantId}/client-certificates`, { certificate: 'not a certificate' });
    expect(garbage.status).toBe(422);
    expect(((await garbage.json()) as { detail: string }).detail).toContain('PEM');
    expect((await admin('/v1/admin/tenants/no-such-tenant/client-certificates', { certificate: unregistered.cert })).status).toBe(404);
  });

  it('without a certificate, or with one from a CA nobody configured, the connection is refused', async () => {
    await expect(client()(`https://${at}/v1/users/none`, { method: 'PUT', key: engine.apiKey, body: { email: 'none@a.example' } })).rejects.toThrow();
    await expect(
      client(stranger)(`https://${at}/v1/users/none`, { method: 'PUT', key: engine.apiKey, body: { email: 'none@a.example' } }),
    ).rejects.toThrow();
    expect(await userRow(engine.tenantId, 'none')).toEqual([]);
  });

  it("a trusted but unregistered certificate is 403; the registered one works with its tenant's key only", async () => {
    const unknown = await client(unregistered)(`https://${at}/v1/users/mtls-u1`, {
      method: 'PUT',
      key: engine.apiKey,
      body: { email: 'u1@a.example' },
    });
    expect(unknown.status).toBe(403);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    expect(((await unknown.json()) as { detail: string }).detail).toContain('not registered');
    expect(await userRow(engine.tenantId, 'mtls-u1')).toEqual([]);

    const asBankA = client(bankA);
    const own = await asBankA(`https://${at}/v1/users/mtls-u1`, { method: 'PUT', key: engine.apiKey, body: { email: 'u1@a.example' } });
    expect(own.status, await own.clone().text()).toBe(201);
    expect(await userRow(engine.tenantId, 'mtls-u1')).toHaveLength(1);

    const foreign = await asBankA(`https://${at}/v1/users/mtls-u2`, { method: 'PUT', key: other.apiKey, body: { email: 'u2@b.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('content-type')).toContain('application/problem+json');
    expect(((await foreign.json()) as { detail: string }).detail).toContain('registered to another tenant');
    expect(await userRow(other.tenantId, 'mtls-u2')).toEqual([]);

    // The certificate identifies the calling system; the API key still authenticates.
    const keyless = await asBankA(`https://${at}/v1/users/mtls-u1`);
    expect(keyless.status).toBe(401);
  });

  it('a removed certificate is refused from the next request on', async () => {
    const fp = new X509Certificate(bankA.cert).fingerprint256;
    const removed = await admin(`/v1/admin/tenants/${engine.tenantId}/client-certificates/${fp}`, undefined, 'DELETE');
    expect(removed.status).toBe(204);
    const res = await client(bankA)(`https://${at}/v1/users/mtls-u1`, { key: engine.apiKey });
    expect(res.status).toBe(403);
    expect((await admin(`/v1/admin/tenants/${engine.tenantId}/client-certificates/${fp}`, undefined, 'DELETE')).status).toBe(404);
  });
});

describe('client certificates (mTLS), requested', () => {
  it('a tenant with a registered certificate needs it with every request; a tenant without one keeps using its key alone', async () => {
    const at = await listen('request');
    const { tenantId, apiKey } = await engine.addTenant();
    const cert = clientCa.issue(`${tenantId} backend`);
    expect((await admin(`/v1/admin/tenants/${tenantId}/client-certificates`, { certificate: cert.cert })).status).toBe(201);

    const bare = await client()(`https://${at}/v1/users/req-u1`, { method: 'PUT', key: apiKey, body: { email: 'r1@c.example' } });
    expect(bare.status).toBe(403);
    expect(((await bare.json()) as { detail: string }).detail).toContain('requires a client certificate');
    expect(await userRow(tenantId, 'req-u1')).toEqual([]);
    const withCert = await client(cert)(`https://${at}/v1/users/req-u1`, { method: 'PUT', key: apiKey, body: { email: 'r1@c.example' } });
    expect(withCert.status).toBe(201);

    const keyOnly = await client()(`https://${at}/v1/users/req-u2`, { method: 'PUT', key: other.apiKey, body: { email: 'r2@b.example' } });
    expect(keyOnly.status).toBe(201);
    // An untrusted certificate is refused by the API when the handshake let it through.
    const untrusted = await client(stranger)(`https://${at}/v1/users/req-u3`, { method: 'PUT', key: other.apiKey, body: { email: 'r3@b.example' } });
    expect(untrusted.status).toBe(403);
    expect(await userRow(other.tenantId, 'req-u3')).toEqual([]);
  });
});

describe('client certificates, every listener (fail closed)', () => {
  it('a tenant with a registered certificate is refused where no certificate can arrive: HTTPS without client authentication, plain HTTP, in-process', async () => {
    const { tenantId, apiKey } = await engine.addTenant();
    const cert = clientCa.issue(`${tenantId} backend`);
    expect((await admin(`/v1/admin/tenants/${tenantId}/client-certificates`, { certificate: cert.cert })).status).toBe(201);

    // The second process the README once suggested for browser pages: HTTPS, API_TLS_CLIENT_AUTH=off.
    const pagesListener = await listen('off');
    const overTls = await client(cert)(`https://${pagesListener}/v1/users/any-u1`, { method: 'PUT', key: apiKey, body: { email: 'a1@d.example' } });
    expect(overTls.status).toBe(403);
    expect(overTls.headers.get('content-type')).toContain('application/problem+json');
    expect(((await overTls.json()) as { detail: string }).detail).toContain('requires a client certificate');

    const plainUrl = await engine.listen();
    const plain = await fetch(`${plainUrl}/v1/users/any-u1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'a1@d.example' }),
    });
    expect(plain.status).toBe(403);
    const inProcess = await engine.request('PUT', '/v1/users/any-u1', { key: apiKey, body: { email: 'a1@d.example' } });
    expect(inProcess.status).toBe(403);
    expect(await userRow(tenantId, 'any-u1')).toEqual([]);

    // A tenant without certificates is not affected; the certificate's owner still gets in where it is asked for.
    expect((await engine.request('PUT', '/v1/users/any-u2', { key: other.apiKey, body: { email: 'a2@b.example' } })).status).toBe(201);
    const mtls = await listen('request');
    const bound = await client(cert)(`https://${mtls}/v1/users/any-u1`, { method: 'PUT', key: apiKey, body: { email: 'a1@d.example' } });
    expect(bound.status).toBe(201);
  });
});

describe('the admin CLI', () => {
  it('registers, lists and removes a client certificate (npm run admin -- cert ...)', async () => {
    const { tenantId } = await engine.addTenant();
    const cert = clientCa.issue(`${tenantId} cli`);
    const certFile = file(`${tenantId}.pem`, cert.cert);
    const fp = new X509Certificate(cert.cert).fingerprint256;
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'bin/admin.ts', ...args], {
        env: { ...process.env, DATABASE_URL: inject('databaseUrl') },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const added = cli('cert', 'add', tenantId, '--file', certFile, '--name', 'cli backend');
    expect(added.status, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ fingerprint: fp, name: 'cli backend' });
    expect(JSON.parse(cli('cert', 'list', tenantId).stdout)).toMatchObject([{ fingerprint: fp }]);
    expect(cli('cert', 'remove', tenantId, fp).status).toBe(0);
    const gone = cli('cert', 'remove', tenantId, fp);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toContain('has no client certificate');
  });
});
