import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../api/app.js';
import { EncryptionCodec, parsePayloadKeys } from '../config/payload-codec.js';
import { encryptedDataConverter } from '../config/temporal.js';
import { resolveTemporalCli } from '../dev/temporal-server.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, trigger } from './helpers/notify.js';

const run = promisify(execFile);
const ADMIN_KEY = `nf_admin_${randomBytes(16).toString('hex')}`;
const CODEC_TOKEN = randomBytes(24).toString('hex');
const UI_ORIGIN = 'http://127.0.0.1:8233';
const ENCRYPTED = Buffer.from('binary/encrypted').toString('base64');

let engine: TestEngine;
let server: ServerType;
let apiUrl: string;

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
  // The API over a real socket, so the Temporal CLI can reach its codec endpoint.
  const codec = encryptedDataConverter(engine.payloadKeys).payloadCodecs[0];
  const api = createApi({
    db: engine.database.db,
    temporal: engine.client,
    taskQueue: engine.taskQueue,
    adminKey: ADMIN_KEY,
    codec,
    codecToken: CODEC_TOKEN,
    codecOrigins: [UI_ORIGIN],
  });
  server = serve({ fetch: api.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const address = server.address();
  apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await engine?.stop();
});

/** `temporal workflow show -o json`, as an operator runs it. */
async function show(workflowId: string, extra: string[] = []) {
  const cli = resolveTemporalCli(process.env.TEMPORAL_CLI_PATH);
  const { stdout } = await run(
    cli,
    ['workflow', 'show', '-w', workflowId, '--address', engine.temporalAddress, '--namespace', 'default', '-o', 'json', ...extra],
    { maxBuffer: 16 << 20 },
  );
  return stdout;
}

/** The history with each payload's data shown as text (the CLI prints payloads as base64). */
function readable(raw: string): string {
  return payloadsIn(JSON.parse(raw))
    .map((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8'))
    .join('\n');
}

/** Every Payload object ({metadata, data}) anywhere in the history JSON. */
function payloadsIn(node: unknown, out: { metadata?: Record<string, string>; data?: string }[] = []) {
  if (Array.isArray(node)) node.forEach((n) => payloadsIn(n, out));
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.metadata && typeof o.metadata === 'object' && 'encoding' in (o.metadata as object)) out.push(o as never);
    // Search attributes are indexed by the server: they stay readable and must carry ids only.
    else Object.entries(o).forEach(([k, v]) => k !== 'searchAttributes' && payloadsIn(v, out));
  }
  return out;
}

describe('encrypted Temporal payloads', () => {
  let workflowId: string;

  it('stores workflow inputs, results and failure messages encrypted; search attributes keep ids only', async () => {
    // The only push token is unregistered: the push fails for good (an activity failure) and e-mail takes over.
    await putUser(engine, 'erin', { email: 'erin@example.fr', locale: 'fr', pushTokens: ['unregistered-erin'] }, { transactions: ['push'] });
    const id = await trigger(engine, 'erin', 'erin-1');
    const done = await settled(engine, id);
    expect(done.status).toBe('delivered');
    workflowId = done.workflowId;

    const raw = await show(workflowId);
    const history = JSON.parse(raw) as { events: Record<string, unknown>[] };
    // Markers carry the SDK core's own bookkeeping in plain JSON (patch name; local activity seq,
    // type and times): no data of ours. A local activity's result in the marker is ours, and encrypted.
    const payloads = payloadsIn(
      history.events.map((e) => {
        const marker = e.markerRecordedEventAttributes as { details?: { result?: unknown } } | undefined;
        return marker ? { result: marker.details?.result } : e;
      }),
    );
    expect(payloads.length).toBeGreaterThan(3);
    for (const p of payloads) {
      expect(p.metadata?.encoding, JSON.stringify(p)).toBe(ENCRYPTED);
      expect(p.metadata?.['encryption-key-id']).toBe(Buffer.from(engine.payloadKeys.split(':')[0]!).toString('base64'));
      expect(Buffer.from(p.data ?? '', 'base64').toString('latin1')).not.toMatch(/notificationId|erin|UNREGISTERED|transactions/i);
    }
    // Failure text is moved into an encrypted payload: only the SDK's placeholder is readable.
    const failures = [...raw.matchAll(/"message":\s*"([^"]*)"/g)].map((m) => m[1]);
    expect(failures.length).toBeGreaterThan(0);
    expect(new Set(failures)).toEqual(new Set(['Encoded failure']));
    expect(raw).not.toMatch(/erin@example|unregistered-erin|UNREGISTERED/);
    // Search attributes stay readable for filtering, and carry ids only.
    const started = history.events.find((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED' || e.eventType === 'WorkflowExecutionStarted');
    expect(JSON.stringify(started)).toContain(engine.tenantId);
  });

  it('the codec endpoint decodes for the CLI with the codec token, and refuses without it', async () => {
    const decoded = await show(workflowId, ['--codec-endpoint', `${apiUrl}/codec`, '--codec-auth', `Bearer ${CODEC_TOKEN}`]);
    const plain = readable(decoded);
    expect(plain).toContain('notificationId');
    expect(plain).toMatch(/registration-token-not-registered/);

    await expect(show(workflowId, ['--codec-endpoint', `${apiUrl}/codec`])).rejects.toThrow(/401|codec|Unauthorized/i);
    await expect(show(workflowId, ['--codec-endpoint', `${apiUrl}/codec`, '--codec-auth', 'Bearer wrong-token'])).rejects.toThrow(
      /401|codec|Unauthorized/i,
    );
    // The admin key opens it too; the path form (for the dev UI) takes the codec token only.
    expect(readable(await show(workflowId, ['--codec-endpoint', `${apiUrl}/codec`, '--codec-auth', `Bearer ${ADMIN_KEY}`]))).toContain(
      'notificationId',
    );
    expect(readable(await show(workflowId, ['--codec-endpoint', `${apiUrl}/codec/${CODEC_TOKEN}`]))).toContain('notificationId');
    await expect(show(workflowId, ['--codec-endpoint', `${apiUrl}/codec/not-the-token`])).rejects.toThrow();
    // The admin key is never taken from the path (it would sit in UI settings, browser history and proxy logs).
    await expect(show(workflowId, ['--codec-endpoint', `${apiUrl}/codec/${ADMIN_KEY}`])).rejects.toThrow();
    const inPath = await fetch(`${apiUrl}/codec/${ADMIN_KEY}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payloads: [] }),
    });
    expect(inPath.status).toBe(401);
    expect(((await inPath.json()) as { detail: string }).detail).toContain('codec token (CODEC_TOKEN) only');
    // Each decode's audit says which credential opened it, and how it came.
    const rows = await engine.database.sql<{ detail: { credential: string; via: string } }[]>`
      select detail from audit_events where tenant_id = '*' and step = 'codec.decoded' and at > now() - interval '10 minutes'`;
    const seen = new Set(rows.map((r) => `${r.detail.credential}/${r.detail.via}`));
    expect([...seen]).toEqual(expect.arrayContaining(['codec-token/header', 'admin-key/header', 'codec-token/path']));
    expect(seen.has('admin-key/path')).toBe(false);
    expect(JSON.stringify(rows)).not.toContain(ADMIN_KEY);
    expect(JSON.stringify(rows)).not.toContain(CODEC_TOKEN);
  });

  it('answers CORS for the UI origin only, and problems for bad input', async () => {
    const preflight = (origin: string) =>
      fetch(`${apiUrl}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' },
      });
    const ok = await preflight(UI_ORIGIN);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const other = await preflight('http://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    const post = (body: unknown, auth?: string) =>
      fetch(`${apiUrl}/codec/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
        body: JSON.stringify(body),
      });
    const noAuth = await post({ payloads: [] });
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get('content-type')).toContain('application/problem+json');
    const bad = await post({ payloads: 'x' }, `Bearer ${CODEC_TOKEN}`);
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/payloads/);
    const foreign = await post(
      { payloads: [{ metadata: { encoding: ENCRYPTED, 'encryption-key-id': Buffer.from('nope').toString('base64') }, data: 'AAAA' }] },
      `Bearer ${CODEC_TOKEN}`,
    );
    expect(foreign.status).toBe(422);
    expect(((await foreign.json()) as { detail: string }).detail).toMatch(/unknown key id 'nope'/);
  });
});

describe('payload key rotation', () => {
  it('encrypts with the first key and still decrypts what older keys encrypted', async () => {
    const old = `k1:${randomBytes(32).toString('base64')}`;
    const next = `k2:${randomBytes(32).toString('base64')}`;
    const before = new EncryptionCodec(parsePayloadKeys(old));
    const after = new EncryptionCodec(parsePayloadKeys(`${next},${old}`));
    const payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"notificationId":"n-1"}') };
    const [sealedOld] = await before.encode([payload]);
    const [sealedNew] = await after.encode([payload]);
    expect(Buffer.from(sealedNew!.metadata!['encryption-key-id']!).toString()).toBe('k2');
    const [a, b] = await after.decode([sealedOld!, sealedNew!]);
    expect(Buffer.from(a!.data!).toString()).toBe('{"notificationId":"n-1"}');
    expect(Buffer.from(b!.data!).toString()).toBe('{"notificationId":"n-1"}');
    // Without the new key the new payload is unreadable; a flipped byte fails authentication.
    await expect(before.decode([sealedNew!])).rejects.toThrow(/unknown key id 'k2'/);
    const tampered = { ...sealedOld!, data: Buffer.from(sealedOld!.data!).map((x, i) => (i === 20 ? x ^ 1 : x)) };
    await expect(after.decode([tampered])).rejects.toThrow();
  });
});
