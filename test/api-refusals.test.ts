// Refusals a client can rely on, over a real socket: a body the server refuses (too large, no or
// wrong key, wrong content type) always gets its 4xx problem, never a reset or EPIPE; strings
// Postgres cannot store (NUL) or that are not Unicode (lone surrogates) are refused as 400 before
// any query; and a failed query's bound values never reach the error log.
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../config/logger.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

let engine: TestEngine;
let base: string;

beforeAll(async () => {
  // 100 wrong keys from one address would meet the unknown-key limit (429, tested in test/secrets);
  // here the point is that each refusal arrives whole, so the limit is set above the tries.
  engine = await startTestEngine({ noWorker: true, api: { unknownKeysPerMinute: 10_000 } });
  base = await engine.listen();
  expect((await engine.request('PUT', '/v1/users/alice', { body: { email: 'alice@example.fr' } })).status).toBe(201);
});
afterAll(async () => engine?.stop());

const TRIES = 50;
const transaction = { userId: 'alice', type: 'account.transaction', data: { amount: 1, currency: 'EUR', merchant: 'M', accountLast4: '4242' } };
const oneMegabyte = JSON.stringify({ ...transaction, data: { ...transaction.data, merchant: 'x'.repeat(1024 * 1024) } });
/** Under the limit, but large enough to still be on the wire when the answer goes out. */
const midSized = JSON.stringify({ ...transaction, data: { ...transaction.data, merchant: 'y'.repeat(60 * 1024) } });

/** Sends one request with the body in chunks (no declared length) over node:http; resolves with status, type and body, or the socket error. */
function chunked(path: string, headers: Record<string, string>, body: string): Promise<string> {
  return new Promise((resolve) => {
    const req = httpRequest(`${base}${path}`, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve(`${res.statusCode} ${res.headers['content-type']} ${JSON.parse(text).status}`));
      res.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    for (let i = 0; i < body.length; i += 16 * 1024) req.write(body.slice(i, i + 16 * 1024));
    req.end();
  });
}

/** What each of TRIES sends got: "<status> <content type> <problem status>", or the socket error. */
async function outcomes(send: () => Promise<string>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < TRIES; i++) {
    const key = await send();
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

const viaFetch = (headers: Record<string, string>, body: string) => async () => {
  try {
    const res = await fetch(`${base}/v1/notifications`, { method: 'POST', headers: { 'idempotency-key': `k-${Math.random()}`, ...headers }, body });
    return `${res.status} ${res.headers.get('content-type')} ${((await res.json()) as { status: number }).status}`;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return e.cause?.code ?? e.message;
  }
};

describe(`a refused body still gets its answer (${TRIES} tries per case, real socket)`, () => {
  const json = { 'content-type': 'application/json' };
  const key = () => ({ authorization: `Bearer ${engine.apiKey}` });

  it('1 MB with a valid key → 413 every time', async () => {
    expect(await outcomes(viaFetch({ ...json, ...key() }, oneMegabyte))).toEqual({ '413 application/problem+json 413': TRIES });
  });

  it('1 MB without a key → 413 every time', async () => {
    expect(await outcomes(viaFetch(json, oneMegabyte))).toEqual({ '413 application/problem+json 413': TRIES });
  });

  it('1 MB sent in chunks (no declared length) → 413 every time', async () => {
    expect(await outcomes(() => chunked('/v1/notifications', { ...json, ...key(), 'idempotency-key': 'chunked' }, oneMegabyte))).toEqual({
      '413 application/problem+json 413': TRIES,
    });
  });

  it('a wrong key with a body → 401 every time', async () => {
    expect(await outcomes(viaFetch({ ...json, authorization: 'Bearer wrong-key' }, midSized))).toEqual({ '401 application/problem+json 401': TRIES });
  });

  it('a wrong content type with a body → 415 every time', async () => {
    expect(await outcomes(viaFetch({ ...key(), 'content-type': 'text/plain' }, midSized))).toEqual({ '415 application/problem+json 415': TRIES });
  });
});

describe('NUL characters and lone surrogates are refused before Postgres', () => {
  async function rowCounts() {
    const [row] = await engine.database.sql<{ notifications: number; suppressions: number; users: number }[]>`
      select (select count(*)::int from notifications where tenant_id = ${engine.tenantId}) as notifications,
             (select count(*)::int from suppressions where tenant_id = ${engine.tenantId}) as suppressions,
             (select count(*)::int from users where tenant_id = ${engine.tenantId}) as users`;
    return row!;
  }

  it.each([
    ['a query value', 'GET', '/v1/suppressions?after=%00', undefined, /query/],
    ['a path segment', 'GET', '/v1/suppressions/a%00b%40example.com', undefined, /path/],
    ['a path segment', 'DELETE', '/v1/suppressions/%00', undefined, /path/],
    [
      'a body string (NUL)',
      'POST',
      '/v1/notifications',
      JSON.stringify({ ...transaction, data: { ...transaction.data, merchant: 'a\u0000b' } }),
      /body/,
    ],
    [
      'a body string (lone surrogate)',
      'POST',
      '/v1/notifications',
      JSON.stringify({ ...transaction, data: { ...transaction.data, merchant: 'a\ud800b' } }),
      /body/,
    ],
    [
      'a body key (lone surrogate)',
      'POST',
      '/v1/notifications',
      JSON.stringify({ ...transaction, data: { ...transaction.data, ['\udc00']: 1 } }),
      /body/,
    ],
    ['a body string (NUL)', 'PUT', '/v1/users/bob', JSON.stringify({ email: null, timezone: 'Europe/Paris\u0000' }), /body/],
    ['a body string (NUL)', 'POST', '/v1/suppressions', JSON.stringify({ email: 'carol@example.com', detail: '\u0000' }), /body/],
  ])('%s: %s %s → 400 problem, nothing written', async (_what, method, path, body, detail) => {
    const before = await rowCounts();
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${engine.apiKey}`, 'content-type': 'application/json', 'idempotency-key': `nul-${Math.random()}` },
      body,
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await res.json()) as { detail: string };
    expect(problem.detail).toMatch(/NUL character or an unpaired UTF-16 surrogate/);
    expect(problem.detail).toMatch(detail);
    expect(await rowCounts()).toEqual(before);
  });
});

describe('the error log', () => {
  it("carries a failed query's text but not the values bound to it", async () => {
    const lines: string[] = [];
    const logger = createLogger('error', 'api', new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
    const secret = 'carol.secret@example.com';
    // A real failure from the driver: Postgres refuses a NUL byte in a text parameter.
    const err = await engine.database.db.execute(sql`select ${`${secret}\u0000`}::text as v`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(JSON.stringify({ message: (err as Error).message, ...(err as object) })).toContain(secret); // the driver does carry it
    logger.error({ err }, 'request failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Failed query: select \$1::text/);
    expect(lines[0]).not.toContain('carol.secret');
  });
});
