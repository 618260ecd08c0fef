import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseEnv } from '../config/env.js';
import { temporalTlsFromEnv } from '../config/temporal-tls.js';
import { freePort } from '../dev/ports.js';
import { createTestTls } from '../dev/test-ca.js';
import { startApiProcess } from './helpers/api-process.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, trigger } from './helpers/notify.js';
import { startTlsProxy, type TlsProxy } from './helpers/tls-proxy.js';

// The Temporal dev server speaks plain gRPC; a TLS proxy in front of it stands for a self-hosted
// cluster's TLS frontend, with a CA made for this run.
const dir = mkdtempSync(join(tmpdir(), 'notiflow-temporal-tls-'));
const frontend = createTestTls(['temporal.test', 'localhost'], ['127.0.0.1']);
const stranger = createTestTls(['temporal.test'], ['127.0.0.1']);
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const caPath = file('temporal-ca.pem', frontend.caPem);
const wrongCaPath = file('wrong-ca.pem', stranger.caPem);

let proxy: TlsProxy;
let engine: TestEngine | undefined;

beforeAll(async () => {
  proxy = await startTlsProxy(inject('temporalAddress'), frontend);
});
afterAll(async () => {
  await engine?.stop();
  await proxy?.close();
});

describe('Temporal over TLS', () => {
  it('with TEMPORAL_TLS_CA_PATH the client and the worker connect through TLS, and a notification is delivered', async () => {
    const tls = temporalTlsFromEnv(parseEnv({ TEMPORAL_TLS_CA_PATH: caPath, TEMPORAL_TLS_SERVER_NAME: 'temporal.test' }));
    expect(tls).toBeDefined();
    const before = proxy.handshakes();
    engine = await startTestEngine({ bundle: await bundleWorkflows(), temporal: { address: proxy.address, tls } });
    // The client and the worker's native connection both came in through the proxy.
    expect(proxy.handshakes() - before).toBeGreaterThanOrEqual(2);

    await putUser(engine, 'tls-ana', { email: 'ana@tls.example', locale: 'en' }, { transactions: ['email'] });
    const id = await trigger(engine, 'tls-ana', 'tls-1');
    const [mail] = await engine.inbox.waitFor(1, 30_000);
    expect(mail!.rcptTo).toEqual(['ana@tls.example']);
    expect((await settled(engine, id)).status).toBe('delivered');
  });

  const apiEnv = async () => ({
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_PAYLOAD_KEYS: `k:${randomBytes(32).toString('base64')}`,
    TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
    API_PORT: String(await freePort()),
    PUBLIC_URL: 'https://notify.example.test',
    LOG_LEVEL: 'info',
  });

  it("with a CA that did not sign the frontend's certificate, bin/api.ts stops at start and says so", async () => {
    const { code, stderr } = await startApiProcess({ ...(await apiEnv()), TEMPORAL_TLS_CA_PATH: wrongCaPath });
    expect(code).not.toBeNull();
    expect(code).not.toBe(0);
    expect(stderr).toMatch(
      new RegExp(`Cannot connect to Temporal at ${proxy.address.replace(/\./g, '\\.')} over TLS: the server's certificate is not trusted`),
    );
    expect(stderr).toContain('TEMPORAL_TLS_CA_PATH');
  });

  it('with the right CA bin/api.ts starts, and serves HTTPS with API_TLS_CERT_PATH / API_TLS_KEY_PATH', async () => {
    const api = createTestTls(['api.test'], ['127.0.0.1']);
    const env = {
      ...(await apiEnv()),
      TEMPORAL_TLS_CA_PATH: caPath,
      API_TLS_CERT_PATH: file('api-cert.pem', api.cert),
      API_TLS_KEY_PATH: file('api-key.pem', api.key),
    };
    const started = await startApiProcess(env, { keep: true });
    try {
      expect(started.code, started.stderr).toBeNull();
      expect(started.listening).toContain(`https://127.0.0.1:${env.API_PORT}`);
      const dispatcher = new Agent({ connect: { ca: api.caPem } });
      const res = await fetch(`https://127.0.0.1:${env.API_PORT}/health`, { dispatcher });
      expect(res.status).toBe(200);
      await dispatcher.close();
    } finally {
      started.stop();
    }
  });
});
