// The API holds against generated input. Driven by GET /openapi.json of the running API (real
// socket, real Postgres and Temporal): for every operation, 100 requests built from its documented
// parameters and body, valid and not (any Unicode including NUL and lone surrogates, huge numbers,
// unknown fields, wrong content types, wrong keys), plus methods a known path does not serve.
// Each answer: never a 5xx; a status the document lists for that operation; a content type and a
// body that validate against the schema documented for that status, with no field it does not name.
// A new seed each run, printed (and named in each failure); FUZZ_SEED=<seed> npx vitest run test/api-fuzz.test.ts replays it.
// Path parameters get real ids of their own kind half the time (tenants, pools, IPs, certificates on
// the admin paths; users, notifications, tokens on the tenant paths), so requests reach the handlers.
import { createHash, randomInt } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../domain/webhooks/sign.js';
import { issueUnsubscribeToken } from '../domain/feedback/unsubscribe-token.js';
import { createApi } from '../api/app.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';

const SEED = Number(process.env.FUZZ_SEED ?? randomInt(2 ** 31 - 1));
const RUNS = 100;
const adminKey = 'nf_admin_fuzz_test_key';
const feedbackSecret = 'fuzz-provider-secret';
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

type Schema = Record<string, unknown> & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
};
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
  security?: Record<string, string[]>[];
}
interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

// The operations, named at collection time from the same app (the test itself reads the served document).
const declared = createApi({ db: undefined as never, temporal: undefined as never, taskQueue: 'fuzz' }).getOpenAPI31Document({
  openapi: '3.1.0',
  info: { title: 'x', version: '0' },
});
const operations = Object.entries(declared.paths ?? {}).flatMap(([path, ops]) => Object.keys(ops as object).map((method) => ({ method, path })));

let engine: TestEngine;
let base: string;
let doc: Doc;
let ajv: Ajv2020;
let userIds: string[] = [];
let notificationIds: string[] = [];
let tokens: string[] = [];
let ipIds: string[] = [];
/** A tenant of its own for the admin paths (suspending it leaves the fuzzed tenant's routes open), with its pool and a certificate. */
let adminTenant: string;
let poolIds: string[] = [];
let fingerprints: string[] = [];
let seedIds: string[] = [];

beforeAll(async () => {
  // Wrong keys are part of the input: without a high unknown-key limit their answers would be held (api/auth.ts).
  engine = await startTestEngine({
    bundle: await bundleWorkflows(),
    api: { adminKey, feedbackWebhookSecret: feedbackSecret, unknownKeysPerMinute: 100_000 },
  });
  base = await engine.listen();
  console.log(`api-fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
  for (const [id, email] of [
    ['alice', 'alice@example.fr'],
    ['bob', 'bob@example.de'],
  ]) {
    expect((await engine.request('PUT', `/v1/users/${id}`, { body: { email, pushTokens: [`tok-${id}`] } })).status).toBe(201);
  }
  const sent = await engine.request('POST', '/v1/notifications', {
    headers: { 'idempotency-key': 'fuzz-seed-1' },
    body: { userId: 'alice', type: 'account.transaction', data: { amount: 1, currency: 'EUR', merchant: 'M', accountLast4: '4242' } },
  });
  expect(sent.status).toBe(202);
  notificationIds = [((await sent.json()) as { id: string }).id];
  const rows = await engine.database.sql<
    { id: string; external_id: string }[]
  >`select id, external_id from users where tenant_id = ${engine.tenantId}`;
  userIds = rows.map((r) => r.external_id);
  tokens = await Promise.all(
    rows.flatMap((r) =>
      ['marketing', 'transactions', 'security'].map((category) =>
        issueUnsubscribeToken(engine.database.db, { tenantId: engine.tenantId, userId: r.id, category }),
      ),
    ),
  );
  // Only this tenant's own IPs: other test files send from theirs at the same time.
  ipIds = (await engine.database.sql<{ id: string }[]>`select id from egress_sources where pool_id = ${`${engine.tenantId}-pool`}`).map((r) => r.id);
  adminTenant = (await engine.addTenant()).tenantId;
  poolIds = [`${adminTenant}-pool`];
  const fingerprint = createHash('sha256').update(`fuzz-cert-${SEED}`).digest('hex').toUpperCase();
  const registered = await engine.request('POST', `/v1/admin/tenants/${adminTenant}/client-certificates`, {
    key: adminKey,
    body: { fingerprint, name: 'fuzz' },
  });
  expect(registered.status, await registered.clone().text()).toBe(201);
  fingerprints = [fingerprint.match(/../g)!.join(':')];
  const seed = await engine.request('POST', '/v1/admin/seed-mailboxes', {
    key: adminKey,
    body: {
      provider: 'gmail',
      address: `fuzz-${Date.now()}-${randomInt(1e9)}@seeds.test`,
      imap: { host: '127.0.0.1', port: 143, tls: false, username: 'fuzz', password: 'fuzz' },
    },
  });
  expect(seed.status, await seed.clone().text()).toBe(201);
  seedIds = [((await seed.json()) as { id: string }).id];

  // One alarm to list (resolved, so tests that read open alarms don't see it).
  await engine.database
    .sql`insert into alarms (kind, severity, scope, message, detail, resolved_at) values ('fuzz', 'warn', ${`fuzz:${engine.tenantId}`}, 'fuzz alarm', '{"n": 1}'::jsonb, now())`;

  const res = await fetch(`${base}/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Doc;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
}, 60_000);
afterAll(async () => engine?.stop());

/** The schema with $refs inlined and every object closed: an answer names no field the document does not. */
function closed(schema: unknown, expanding: ReadonlySet<string> = new Set()): unknown {
  if (Array.isArray(schema)) return schema.map((s) => closed(s, expanding));
  if (!schema || typeof schema !== 'object') return schema;
  const s = schema as Schema;
  const ref = typeof s.$ref === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(s.$ref)?.[1] : undefined;
  // A schema that refers to itself (any JSON value) is inlined once; deeper, anything goes.
  if (ref) return expanding.has(ref) ? {} : closed(doc.components.schemas[ref], new Set([...expanding, ref]));
  const out = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === 'enum' || k === 'const' || k === 'default' ? v : closed(v, expanding)]));
  if (s.properties && s.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

// ---- Generated values ----

const nasty = fc.constantFrom(
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\udc00\ud800',
  '😀',
  '\u202e',
  '../..',
  '%00',
  "' or '1'='1",
  ' ',
  'é'.normalize('NFD'),
  'x'.repeat(5000),
);
const anyString = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 20 }), nasty);
const hugeNumber = fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 64, -0, 0.5, 1e-320);
const wild: fc.Arbitrary<unknown> = fc.oneof(
  anyString,
  fc.integer(),
  fc.double({ noNaN: true }),
  hugeNumber,
  fc.boolean(),
  fc.constant(null),
  fc.array(anyString, { maxLength: 3 }),
  fc.dictionary(anyString, anyString, { maxKeys: 3 }),
);

/** A generated value as it would be typed into a URL or header (objects as JSON: they may have no toString). */
const asText = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));

const typesOf = (s: Schema): string[] => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);

/** A value the schema accepts (most of the time: patterns and refinements may still refuse it). */
function valid(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  const s = closed(schema) as Schema;
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.const !== undefined) return fc.constant(s.const);
  const alternatives = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map((a) => valid(a, depth + 1)));
  const types = typesOf(s);
  const arbs = types.map((t): fc.Arbitrary<unknown> => {
    switch (t) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer':
        return fc.integer({ min: Math.max(Number(s.minimum ?? -1e6), -1e9), max: Math.min(Number(s.maximum ?? 1e6), 1e9) });
      case 'number':
        return fc.double({ min: Number(s.minimum ?? -1e6), max: Number(s.maximum ?? 1e6), noNaN: true, noDefaultInfinity: true });
      case 'string': {
        if (s.format === 'email') return fc.emailAddress();
        if (s.format === 'uuid') return fc.uuid();
        if (typeof s.pattern === 'string') return fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length <= Number(s.maxLength ?? Infinity));
        return fc.string({ minLength: Number(s.minLength ?? 0), maxLength: Math.min(Number(s.maxLength ?? 30), 30) });
      }
      case 'array':
        return depth > 3
          ? fc.constant([])
          : fc.array(valid(s.items ?? {}, depth + 1), { minLength: Number(s.minItems ?? 0), maxLength: Math.max(Number(s.minItems ?? 0), 3) });
      case 'object': {
        if (depth > 3) return fc.constant({});
        const props = s.properties ?? {};
        const required = new Set(s.required ?? []);
        const shape = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valid(v, depth + 1)]));
        const record = fc.record(shape, { requiredKeys: Object.keys(props).filter((k) => required.has(k)) });
        const extra =
          s.additionalProperties && typeof s.additionalProperties === 'object'
            ? fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), valid(s.additionalProperties as Schema, depth + 1), { maxKeys: 3 })
            : fc.constant({});
        return fc.tuple(record, extra).map(([r, e]) => ({ ...e, ...r }));
      }
      default:
        return wild;
    }
  });
  return arbs.length ? fc.oneof(...arbs) : wild;
}

/** Mostly valid values, sometimes anything at all; objects sometimes with a field broken or an unknown field added. */
function value(schema: Schema): fc.Arbitrary<unknown> {
  const ok = valid(schema);
  const broken = ok.chain((v) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return wild;
    const keys = Object.keys(v);
    return fc.oneof(
      fc.tuple(anyString, wild).map(([k, x]) => ({ ...v, [k || 'unknown']: x })),
      keys.length ? fc.tuple(fc.constantFrom(...keys), wild).map(([k, x]) => ({ ...v, [k]: x })) : wild,
      fc.constant(Object.fromEntries(keys.slice(1).map((k) => [k, (v as Record<string, unknown>)[k]]))),
    );
  });
  return fc.oneof({ arbitrary: ok, weight: 3 }, { arbitrary: broken, weight: 2 }, { arbitrary: wild, weight: 1 });
}

/** Ids that exist, per admin collection (the path segment before `{id}`). */
const adminIds: Record<string, () => string[]> = {
  tenants: () => [adminTenant],
  pools: () => poolIds,
  ips: () => ipIds,
  'seed-mailboxes': () => seedIds,
};

/** Known good values for path parameters, so requests reach past "not found". */
function pathValue(path: string, name: string, schema: Schema): fc.Arbitrary<string> {
  const collection = new RegExp(`/([^/{}]+)/\\{${name}\\}`).exec(path)?.[1] ?? '';
  const known: Record<string, () => string[]> = {
    userId: () => userIds,
    id: () => (path.startsWith('/v1/admin/') ? (adminIds[collection]?.() ?? []) : notificationIds),
    token: () => tokens,
    email: () => ['alice@example.fr', 'nobody@example.com'],
    tenantId: () => [adminTenant],
    fingerprint: () => fingerprints,
  };
  const real = known[name]?.() ?? [];
  if (path.startsWith('/v1/admin/') && !real.length) throw new Error(`no known ids for {${name}} in ${path}: add them to pathValue`);
  // "." and ".." cannot be sent as a segment: the URL parser removes them, %2E or not.
  const generated = value(schema)
    .map(asText)
    .filter((v) => v.length > 0 && v !== '.' && v !== '..');
  return real.length ? fc.oneof({ arbitrary: fc.constantFrom(...real), weight: 2 }, { arbitrary: generated, weight: 3 }) : generated;
}

/** Percent-encodes a path segment; a lone surrogate goes as its WTF-8 bytes (what a raw client could send). */
function encodeSegment(s: string): string {
  if (s === '.' || s === '..') return s.replace(/\./g, '%2E');
  let out = '';
  for (const ch of s) {
    const u = ch.charCodeAt(0);
    if (ch.length === 1 && u >= 0xd800 && u <= 0xdfff)
      out += [0xe0 | (u >> 12), 0x80 | ((u >> 6) & 0x3f), 0x80 | (u & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    else out += encodeURIComponent(ch);
  }
  return out;
}

/** Header values are bytes: keep what HTTP can carry (a NUL or CR/LF never reaches the app). */
const headerSafe = (s: string) => s.replace(/[^\x20-\x7e\x80-\xff\t]/g, '');

/** Bodies that pass validation and name real things, so generated requests also reach the handlers' own checks and the database. */
function goodBodies(): Record<string, fc.Arbitrary<unknown>> {
  const transaction = fc.record({
    userId: fc.constantFrom(...userIds, 'nobody'),
    type: fc.constantFrom('account.transaction', 'account.unknown'),
    data: fc.record({
      amount: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
      currency: fc.constant('EUR'),
      merchant: anyString,
      accountLast4: fc.constant('4242'),
    }),
  });
  return {
    'post /v1/notifications': transaction,
    'post /v1/notifications/batch': fc
      .array(
        fc
          .tuple(fc.stringMatching(/^[a-z0-9]{1,20}$/), fc.oneof(transaction, wild))
          .map(([k, t]) => (t && typeof t === 'object' ? { idempotencyKey: k, ...t } : t)),
        { minLength: 1, maxLength: 5 },
      )
      .map((notifications) => ({ notifications })),
    'post /v1/feedback/reports': fc.record({
      type: fc.constantFrom('complaint', 'bounce'),
      notificationId: fc.constantFrom(...notificationIds),
      status: fc.constantFrom('5.1.1', '4.2.2'),
      diagnostic: anyString,
    }),
    'post /v1/admin/ips/{id}/suspend': fc.record({
      provider: fc.constantFrom('*', 'gmail'),
      minutes: fc.integer({ min: 1, max: 60 }),
      reason: fc.constant('fuzz'),
    }),
    'put /v1/admin/tenants/{tenantId}/pool': fc.record({ poolId: fc.constantFrom(...poolIds, 'no-such-pool') }),
    'put /v1/users/{userId}/preferences': fc.record({
      categories: fc.dictionary(fc.constantFrom('transactions', 'marketing', 'security', 'nope'), fc.subarray(['email', 'push'])),
    }),
  };
}

interface Built {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

function requests(method: string, path: string, op: Operation): fc.Arbitrary<Built> {
  const params = op.parameters ?? [];
  const pathArbs = Object.fromEntries(params.filter((p) => p.in === 'path').map((p) => [p.name, pathValue(path, p.name, p.schema)]));
  const queryArbs = params
    .filter((p) => p.in === 'query')
    .map((p) =>
      fc.option(
        value(p.schema).map((v) => [p.name, asText(v)] as const),
        { nil: undefined },
      ),
    );
  const headerArbs = params
    .filter((p) => p.in === 'header')
    .map((p) =>
      fc.option(
        value(p.schema).map((v) => [p.name, headerSafe(asText(v))] as const),
        { freq: 6, nil: undefined },
      ),
    );
  const scheme = op.security === undefined ? 'tenant' : op.security.length === 0 ? 'open' : 'operator';
  const goodKey = scheme === 'tenant' ? engine.apiKey : scheme === 'operator' ? adminKey : undefined;
  const auth = fc.oneof(
    { arbitrary: fc.constant(goodKey ? `Bearer ${goodKey}` : undefined), weight: 8 },
    {
      arbitrary: fc.constantFrom(
        undefined,
        'Bearer wrong-key',
        `Basic ${goodKey ?? 'x'}`,
        scheme === 'operator' ? `Bearer ${engine.apiKey}` : 'Bearer ',
      ),
      weight: 1,
    },
  );
  const [mediaType, media] = Object.entries(op.requestBody?.content ?? {})[0] ?? [];
  const good = goodBodies()[`${method} ${path}`];
  const body: fc.Arbitrary<{ type?: string; text: string } | undefined> = media
    ? fc.oneof(
        { arbitrary: (good ?? fc.constant(undefined)).map((v) => ({ type: mediaType, text: JSON.stringify(v) })), weight: good ? 6 : 0 },
        {
          arbitrary: value(media.schema).map((v) => ({
            type: mediaType,
            text:
              mediaType === 'application/json'
                ? JSON.stringify(v)
                : new URLSearchParams(Object.entries(v && typeof v === 'object' ? v : { v }).map(([k, x]) => [k, asText(x)])).toString(),
          })),
          weight: 12,
        },
        { arbitrary: fc.constant({ type: mediaType, text: 'List-Unsubscribe=One-Click' }), weight: mediaType === 'application/json' ? 0 : 6 },
        { arbitrary: anyString.map((text) => ({ type: mediaType, text })), weight: 1 },
        {
          arbitrary: fc.constantFrom<{ type?: string; text: string }>(
            { type: 'text/plain', text: '{}' },
            { text: '{"a":1}' },
            { type: mediaType, text: '{"x":' },
            { type: mediaType, text: '' },
            { type: mediaType, text: `{"pad":"${'x'.repeat(70_000)}"}` },
          ),
          weight: 1,
        },
      )
    : fc.constant(undefined);
  return fc
    .record({
      path: fc.record(pathArbs),
      query: fc.tuple(...queryArbs),
      headers: fc.tuple(...headerArbs),
      auth,
      body,
      unknownQuery: fc.option(fc.tuple(anyString, anyString), { freq: 8 }),
    })
    .map((r) => {
      const url = new URL(base + path.replace(/\{(\w+)\}/g, (_, name: string) => encodeSegment(r.path[name]!)));
      for (const q of r.query) if (q) url.searchParams.append(q[0], q[1]);
      if (r.unknownQuery) url.searchParams.append(r.unknownQuery[0] || 'x', r.unknownQuery[1]);
      const headers: Record<string, string> = {};
      for (const h of r.headers) if (h) headers[h[0]] = h[1];
      if (r.auth) headers.authorization = r.auth;
      if (r.body?.type) headers['content-type'] = r.body.type;
      // The provider webhook is signed over the raw body: sign it (mostly) so the request gets past the signature.
      if (path === '/v1/feedback/reports' && r.body && headers['Notiflow-Signature'] !== undefined)
        headers['Notiflow-Signature'] = signWebhook(feedbackSecret, r.body.text);
      // Keys that are unique per request, so a valid trigger is not always a replay.
      if (headers['Idempotency-Key'] !== undefined && headers['Idempotency-Key'].length === 0) delete headers['Idempotency-Key'];
      return { method: method.toUpperCase(), url: url.toString(), headers, body: r.body?.text };
    });
}

interface Answer {
  status: number;
  type: string;
  text: string;
}

async function send(r: Built): Promise<Answer> {
  const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

/**
 * A line of the Prometheus text format: HELP or TYPE, or a sample `name{labels} value [timestamp]`.
 * Values as Prometheus parses them (Go's ParseFloat: NaN and Inf in any case; prom-client writes `Nan`).
 */
const PROMETHEUS_LINE = /^(# (HELP|TYPE) [a-z_:][\w:]* .*|[a-z_:][\w:]*(\{.*\})? (-?[\d.]+(e[+-]?\d+)?|nan|[+-]?inf)( -?\d+)?)$/i;

/** Why the answer does not conform to the operation's documented responses, or undefined when it does. */
function nonConformance(op: Operation, a: Answer): string | undefined {
  if (a.status >= 500) return `server error ${a.status}`;
  const documented = op.responses[String(a.status)];
  if (!documented) return `status ${a.status} is not documented (documented: ${Object.keys(op.responses).join(', ')})`;
  const contents = Object.entries(documented.content ?? {});
  if (!contents.length) return a.text === '' ? undefined : `status ${a.status} documents no body but one came`;
  const mediaType = a.type.split(';')[0]!.trim();
  const media = contents.find(([t]) => t === mediaType)?.[1];
  if (!media) return `content type ${a.type} is not documented for ${a.status} (documented: ${contents.map(([t]) => t).join(', ')})`;
  // HTML pages and the Prometheus text exposition are text, not JSON: check their form instead.
  if (mediaType.endsWith('html')) {
    return /^\s*<!doctype html>/i.test(a.text) && /<\/html>\s*$/i.test(a.text) ? undefined : `not an HTML document: ${a.text.slice(0, 200)}`;
  }
  if (mediaType === 'text/plain') {
    const bad = a.text.split('\n').find((line) => line !== '' && !PROMETHEUS_LINE.test(line));
    return a.text.trim() === '' ? 'empty text' : bad === undefined ? undefined : `not a Prometheus text line: ${bad.slice(0, 200)}`;
  }
  // The /docs scripts: text, not JSON.
  if (mediaType === 'text/javascript') return a.text.trim() === '' ? 'empty script' : undefined;
  let body: unknown;
  try {
    body = JSON.parse(a.text);
  } catch {
    return `body is not JSON: ${a.text.slice(0, 200)}`;
  }
  const check = validators.get(media.schema) ?? ajv.compile(closed(media.schema) as object);
  validators.set(media.schema, check);
  return check(body) ? undefined : `body does not match the schema for ${a.status}: ${ajv.errorsText(check.errors)}; body ${a.text.slice(0, 300)}`;
}

const validators = new Map<Schema, ReturnType<Ajv2020['compile']>>();
const seedOf = (name: string) => createHash('sha256').update(`${SEED}:${name}`).digest().readInt32LE(0);

describe('every documented operation, fuzzed from GET /openapi.json', () => {
  it('the served document lists the same operations as the app declares', () => {
    const served = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
    expect(served.sort()).toEqual(operations.map((o) => `${o.method} ${o.path}`).sort());
  });

  it.each(operations)(
    `$method $path: ${RUNS} generated requests, each answered as documented`,
    async ({ method, path }) => {
      const op = doc.paths[path]![method]!;
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(requests(method, path, op), async (r) => {
          const answer = await send(r);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const problem = nonConformance(op, answer);
          if (problem)
            throw new Error(
              `${r.method} ${r.url} ${JSON.stringify(r.headers)} ${r.body?.slice(0, 200) ?? ''}\n  -> ${problem} (replay: FUZZ_SEED=${SEED})`,
            );
        }),
        { numRuns: RUNS, seed: seedOf(`${method} ${path}`), endOnFailure: true },
      );
      // The generator reaches past the front door: not every answer is a refusal of the request's form or key.
      expect(
        [...statuses.keys()].some((s) => ![400, 401, 413, 415].includes(s)),
        `${method} ${path} answered ${JSON.stringify(Object.fromEntries(statuses))}`,
      ).toBe(true);
    },
    120_000,
  );

  it('a method a known path does not serve → 405 problem with Allow, whatever the request', async () => {
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
    // A concrete URL can match more than one template (/v1/notifications/batch is also /v1/notifications/{id}):
    // the most specific one answers, so Allow lists what the document lists for /v1/notifications/batch.
    const templates = Object.entries(doc.paths).map(([path, ops]) => ({
      pattern: new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`),
      params: (path.match(/\{/g) ?? []).length,
      methods: Object.keys(ops),
    }));
    const cases = Object.keys(doc.paths).flatMap((path) => {
      const url = path.replace(/\{(\w+)\}/g, 'x');
      const matching = templates.filter((t) => t.pattern.test(url));
      const fewest = Math.min(...matching.map((t) => t.params));
      const allowed = new Set(matching.filter((t) => t.params === fewest).flatMap((t) => t.methods.map((m) => m.toUpperCase())));
      if (allowed.has('GET')) allowed.add('HEAD');
      return methods.filter((m) => !allowed.has(m)).map((method) => ({ path: url, method, allowed }));
    });
    const problemSchema = closed(doc.components.schemas.Problem) as object;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...cases),
        fc.option(anyString, { nil: undefined }),
        fc.boolean(),
        async ({ path, method, allowed }, body, keyed) => {
          const url = base + path;
          const headers: Record<string, string> = keyed ? { authorization: `Bearer ${engine.apiKey}`, 'content-type': 'application/json' } : {};
          const res = await fetch(url, { method, headers, body: method === 'GET' ? undefined : body });
          const text = await res.text();
          expect(res.status, `${method} ${path}`).toBe(405);
          expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
          expect(ajv.validate(problemSchema, JSON.parse(text)), text).toBe(true);
          expect(new Set(res.headers.get('allow')?.split(', '))).toEqual(allowed);
        },
      ),
      { numRuns: Math.max(RUNS, cases.length * 3), seed: seedOf('405') },
    );
  }, 120_000);
});
