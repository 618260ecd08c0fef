// A tenant chooses its webhook URL, so the engine must not let it reach inside our network:
// loopback, private and metadata addresses are refused on the address actually connected to,
// redirects are not followed, answers are read up to a cap, and a silent receiver times out.
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEgressPolicy, postThrough } from '../domain/webhooks/egress.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { startHttpReceiver } from './helpers/http-receiver.js';
import { auditSteps, putUser, settled, trigger } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

let engine: TestEngine;
let receiver: Awaited<ReturnType<typeof startHttpReceiver>>;

beforeAll(async () => {
  // Public addresses only, as in production without EGRESS_ALLOW_PRIVATE.
  engine = await startTestEngine({ bundle: await bundleWorkflows(), ips: ['127.0.0.34'], egressAllow: [] });
  receiver = await startHttpReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await engine?.stop();
});

describe('tenant webhooks', () => {
  it.each([
    ['a loopback address', () => `${receiver.url}/hook`],
    ['a name that resolves to loopback', () => `${receiver.url.replace('127.0.0.1', 'localhost')}/hook`],
  ])('to %s are refused and audited, and nothing reaches the address', async (_, url) => {
    const res = await engine.request('PUT', '/v1/webhook', { body: { url: url() } });
    expect(res.status).toBe(200);
    const user = `ssrf-${receiver.requests.length}-${Math.random().toString(36).slice(2, 6)}`;
    await putUser(engine, user, { email: `${user}@example.org` }, { transactions: ['email'] });
    const id = await trigger(engine, user, `${user}-1`);
    await settled(engine, id);
    await waitUntil(async () => ((await auditSteps(engine, id)).includes('webhook.refused') ? true : undefined), 30_000, 'webhook.refused audit');
    expect(receiver.requests).toHaveLength(0);
    expect(await auditSteps(engine, id)).not.toContain('webhook.delivered');
  });
});

describe('the egress policy', () => {
  it('judges addresses: private, loopback, link-local (metadata), mapped IPv4 refused; public allowed; an operator range opens', () => {
    const strict = createEgressPolicy();
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
    ])
      expect(strict.allows(a), a).toBe(false);
    for (const a of ['8.8.8.8', '2a00:1450:4001::1', '::ffff:8.8.8.8']) expect(strict.allows(a), a).toBe(true);
    const selfHosted = createEgressPolicy(['10.0.0.0/8']);
    expect(selfHosted.allows('10.1.2.3')).toBe(true);
    expect(selfHosted.allows('192.168.1.1')).toBe(false);
  });

  it('does not follow redirects, reads a large answer only up to its cap, and gives up on a silent receiver', async () => {
    const hits: string[] = [];
    let bigWrittenAtClose: number | undefined;
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/redirect') return void res.writeHead(302, { location: '/target' }).end();
      if (req.url === '/big') {
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 120);
        let sent = 0;
        const pump = () => {
          while (sent < 100 * 1024 * 1024 && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('close', () => {
          bigWrittenAtClose = sent;
          sent = Infinity;
        });
        return pump();
      }
      // /silent: never answers
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const local = createEgressPolicy(['127.0.0.0/8']);
    try {
      const redirected = await postThrough(local, `${base}/redirect`, {}, '{}');
      expect(redirected).toMatchObject({ ok: false, status: 302 });
      expect(hits).not.toContain('/target');

      const big = await postThrough(local, `${base}/big`, {}, '{}', { maxBodyBytes: 1024 * 1024 });
      expect(big).toMatchObject({ ok: true, status: 200 });
      // The engine hung up past its 1 MB cap: the receiver had written far less than its 100 MB
      // (the cap plus what the socket buffers held) when the connection closed.
      const written = await waitUntil(async () => bigWrittenAtClose, 10_000, 'the big answer to be cut off');
      expect(written).toBeLessThan(32 * 1024 * 1024);

      const silent = await postThrough(local, `${base}/silent`, {}, '{}', { timeoutMs: 500 });
      expect(silent).toMatchObject({ ok: false, status: null });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
