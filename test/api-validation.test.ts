// The API's refusal contract: every bad request gets a 4xx application/problem+json that says
// what is wrong, and nothing is started or written (no notification row, no audit event, no
// workflow, nothing at the SMTP inbox or the push endpoint). Also the tenant boundary, the
// OpenAPI document and cancel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../api/app.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { expectProblem } from './helpers/problem.js';
import { waitUntil } from './helpers/wait.js';

let engine: TestEngine;

beforeAll(async () => {
  // Cancel while a send is held in retry backoff: test/notification-timing.test.ts (time-skipping).
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
  const put = await engine.request('PUT', '/v1/users/alice', { body: { email: 'alice@example.fr', locale: 'fr', pushTokens: ['tok-alice-1'] } });
  expect(put.status).toBe(201);
});
afterAll(async () => engine?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const validTransaction = {
  userId: 'alice',
  type: 'account.transaction',
  data: { amount: 12, currency: 'EUR', merchant: 'Café', accountLast4: '4242' },
};

async function rowCounts(tenantId: string) {
  const [row] = await engine.database.sql<{ notifications: number; audit: number }[]>`
    select (select count(*)::int from notifications where tenant_id = ${tenantId}) as notifications,
           (select count(*)::int from audit_events where tenant_id = ${tenantId}) as audit`;
  return row!;
}

/** Runs `act` and asserts it wrote no notification or audit row for the tenant and sent nothing. */
async function expectNothingDone(act: () => Promise<void>, tenantId = engine.tenantId): Promise<void> {
  // Mail from this tenant's domain only: another tenant's alert may land meanwhile (tenant isolation test).
  const mailsOf = () => engine.inbox.messages.filter((m) => m.from.includes(`@${tenantId}.`)).length;
  const before = await rowCounts(tenantId);
  const mails = mailsOf();
  const pushes = engine.fcm.received.length;
  await act();
  expect(await rowCounts(tenantId)).toEqual(before);
  expect(mailsOf()).toBe(mails);
  expect(engine.fcm.received.length).toBe(pushes);
}

/** Workflows the Temporal visibility store lists for a tenant (eventually consistent: callers wait first). */
async function workflowsOf(tenantId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of engine.client.workflow.list({ query: `TenantId="${tenantId}"` })) ids.push(wf.workflowId);
  return ids;
}

const post = (body: unknown, headers: Record<string, string> = { 'idempotency-key': `k-${Math.random()}` }) =>
  engine.request('POST', '/v1/notifications', { body, headers });

describe('POST /v1/notifications refuses bad requests and starts nothing', () => {
  it('malformed JSON → 400', async () => {
    await expectNothingDone(async () => {
      const res = await engine.request('POST', '/v1/notifications', {
        rawBody: '{"userId": "alice", "type": ',
        headers: { 'idempotency-key': 'bad-json' },
      });
      await expectProblem(res, 400, /not valid JSON/);
    });
  });

  it('a body that is not JSON at all, or JSON but not an object → 4xx', async () => {
    await expectNothingDone(async () => {
      await expectProblem(
        await engine.request('POST', '/v1/notifications', { rawBody: '', headers: { 'idempotency-key': 'empty' } }),
        400,
        /not valid JSON/,
      );
      const arr = await engine.request('POST', '/v1/notifications', { rawBody: '[1,2]', headers: { 'idempotency-key': 'array' } });
      await expectProblem(arr, 422, /body/);
    });
  });

  it('wrong content type → 415 saying JSON is expected', async () => {
    await expectNothingDone(async () => {
      const res = await engine.request('POST', '/v1/notifications', {
        rawBody: JSON.stringify(validTransaction),
        headers: { 'idempotency-key': 'ctype', 'content-type': 'text/plain' },
      });
      await expectProblem(res, 415, /Content-Type must be application\/json/);
    });
  });

  it.each([
    ['userId', /body\.userId/],
    ['type', /body\.type/],
    ['data', /body\.data/],
  ])('a missing %s → 422 naming the field', async (field, detail) => {
    await expectNothingDone(async () => {
      const body: Record<string, unknown> = { ...validTransaction };
      delete body[field];
      const p = await expectProblem(await post(body), 422, detail);
      expect(p.errors?.map((e) => e.path)).toContain(`body.${field}`);
    });
  });

  it('a missing data field the type needs → 422 naming it', async () => {
    await expectNothingDone(async () => {
      const { merchant: _merchant, ...data } = validTransaction.data;
      const p = await expectProblem(await post({ ...validTransaction, data }), 422, /merchant/);
      expect(p.errors).toEqual([{ path: 'body.data.merchant', message: expect.any(String) }]);
      // An empty value is not a value either.
      await expectProblem(await post({ ...validTransaction, data: { ...validTransaction.data, merchant: '' } }), 422, /merchant/);
    });
  });

  it('an unknown top-level field → 422 naming it', async () => {
    await expectNothingDone(async () => {
      const p = await expectProblem(await post({ ...validTransaction, channel: 'email' }), 422, /channel/);
      expect(p.errors?.[0]?.path).toBe('body');
    });
  });

  it('data values that are not scalars → 422', async () => {
    await expectNothingDone(async () => {
      await expectProblem(
        await post({ ...validTransaction, data: { ...validTransaction.data, merchant: { nested: true } } }),
        422,
        /body\.data\.merchant/,
      );
    });
  });

  it('an unknown type → 422', async () => {
    await expectNothingDone(async () => {
      const p = await expectProblem(
        await post({ ...validTransaction, type: 'account.lottery_win' }),
        422,
        /Unknown notification type 'account\.lottery_win'/,
      );
      expect(p.errors?.[0]?.path).toBe('body.type');
    });
  });

  it('an unknown user → 422', async () => {
    await expectNothingDone(async () => {
      const p = await expectProblem(await post({ ...validTransaction, userId: 'nobody' }), 422, /User 'nobody' does not exist/);
      expect(p.errors?.[0]?.path).toBe('body.userId');
    });
  });

  it('a 1 MB payload → 413, with or without a valid key', async () => {
    const big = JSON.stringify({ ...validTransaction, data: { ...validTransaction.data, merchant: 'x'.repeat(1024 * 1024) } });
    await expectNothingDone(async () => {
      await expectProblem(
        await engine.request('POST', '/v1/notifications', { rawBody: big, headers: { 'idempotency-key': 'big' } }),
        413,
        /limited to \d+ bytes/,
      );
      await expectProblem(
        await engine.request('POST', '/v1/notifications', { rawBody: big, headers: { 'idempotency-key': 'big' }, key: null }),
        413,
        /limited/,
      );
      // Declared length as a real HTTP client would send it.
      const declared = await engine.request('POST', '/v1/notifications', {
        rawBody: big,
        headers: { 'idempotency-key': 'big', 'content-length': String(Buffer.byteLength(big)) },
      });
      await expectProblem(declared, 413, /limited/);
    });
  });

  it('a missing or malformed Idempotency-Key → 422 naming the header', async () => {
    await expectNothingDone(async () => {
      await expectProblem(await post(validTransaction, {}), 422, /Idempotency-Key header is required/);
      await expectProblem(await post(validTransaction, { 'idempotency-key': 'x'.repeat(300) }), 422, /Idempotency-Key/);
    });
  });

  it('a wrong, missing or malformed API key → 401', async () => {
    await expectNothingDone(async () => {
      const tries: { key?: string | null; authorization?: string }[] = [
        { key: 'nf_test_not-a-real-key' },
        { key: null },
        { key: null, authorization: engine.apiKey }, // no scheme
        { key: null, authorization: `Basic ${Buffer.from(`x:${engine.apiKey}`).toString('base64')}` },
        { key: null, authorization: 'Bearer' },
        { key: null, authorization: `Bearer ${engine.apiKey} extra` },
      ];
      for (const t of tries) {
        const headers: Record<string, string> = { 'idempotency-key': 'auth' };
        if (t.authorization) headers.authorization = t.authorization;
        const res = await engine.request('POST', '/v1/notifications', { body: validTransaction, headers, key: t.key });
        await expectProblem(res, 401, /API key/);
      }
      // Reads too.
      await expectProblem(await engine.request('GET', '/v1/users/alice', { key: 'wrong' }), 401, /not valid/);
    });
  });

  it('an unknown route → 404 problem', async () => {
    await expectNothingDone(async () => {
      await expectProblem(await engine.request('GET', '/v1/nothing-here'), 404, /No route for GET \/v1\/nothing-here/);
      await expectProblem(await engine.request('GET', '/nope', { key: null }), 404, /No route/);
    });
  });

  it('a known path with a method it does not serve → 405 with Allow, with or without a key', async () => {
    await expectNothingDone(async () => {
      for (const key of [undefined, null]) {
        const res = await engine.request('DELETE', '/v1/notifications', { key });
        await expectProblem(res, 405, /DELETE is not served on \/v1\/notifications/);
        expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
      }
      const patch = await engine.request('PATCH', '/v1/users/alice', { body: { email: 'x@example.com' } });
      await expectProblem(patch, 405, /PATCH/);
      expect(patch.headers.get('allow')).toBe('DELETE, GET, HEAD, PUT');
    });
  });

  it('GET of an unknown or malformed notification id → 404', async () => {
    await expectNothingDone(async () => {
      for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', "1' or '1'='1"]) {
        await expectProblem(await engine.request('GET', `/v1/notifications/${encodeURIComponent(id)}`), 404, /does not exist/);
        await expectProblem(await engine.request('GET', `/v1/notifications/${encodeURIComponent(id)}/audit`), 404, /does not exist/);
        await expectProblem(await engine.request('POST', `/v1/notifications/${encodeURIComponent(id)}/cancel`), 404, /does not exist/);
      }
    });
  });

  it('none of the refused requests started a workflow', async () => {
    await sleep(2000); // visibility is eventually consistent
    expect(await workflowsOf(engine.tenantId)).toEqual([]);
    expect(await rowCounts(engine.tenantId)).toMatchObject({ notifications: 0 });
  });
});

describe('the same Idempotency-Key with another body', () => {
  it('→ 422, and the first notification is the only one', async () => {
    const first = await post(validTransaction, { 'idempotency-key': 'reuse-1' });
    expect(first.status).toBe(202);
    const { id, workflowId } = (await first.json()) as { id: string; workflowId: string };
    await waitUntil(
      async () => ((await (await engine.request('GET', `/v1/notifications/${id}`)).json()) as { status: string }).status === 'delivered',
    );
    await engine.inbox.waitFor(1, 10_000);

    await expectNothingDone(async () => {
      const other = { ...validTransaction, data: { ...validTransaction.data, amount: 13 } };
      const p = await expectProblem(await post(other, { 'idempotency-key': 'reuse-1' }), 422, /already used with a different request/);
      expect(p.errors?.[0]?.path).toBe('header.Idempotency-Key');
    });
    await sleep(1500);
    expect(await workflowsOf(engine.tenantId)).toEqual([workflowId]);
    expect(engine.inbox.messages).toHaveLength(1);
  });
});

describe('another tenant', () => {
  it("can neither trigger nor read tenant A's users, notifications, audit or preferences", async () => {
    const b = await engine.addTenant();
    const res = await post(validTransaction, { 'idempotency-key': 'a-notif' });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const prefsBefore = await (await engine.request('GET', '/v1/users/alice/preferences')).json();
    const aCounts = await rowCounts(engine.tenantId);

    await expectNothingDone(async () => {
      const as = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
        engine.request(method, path, { body, headers, key: b.apiKey });
      await expectProblem(await as('POST', '/v1/notifications', validTransaction, { 'idempotency-key': 'b-1' }), 422, /User 'alice' does not exist/);
      // Even reusing tenant A's Idempotency-Key: keys are per tenant, nothing of A's is replayed.
      await expectProblem(
        await as('POST', '/v1/notifications', validTransaction, { 'idempotency-key': 'a-notif' }),
        422,
        /User 'alice' does not exist/,
      );
      await expectProblem(await as('GET', '/v1/users/alice'), 404, /User 'alice' does not exist/);
      await expectProblem(await as('GET', '/v1/users/alice/preferences'), 404, /User 'alice' does not exist/);
      await expectProblem(
        await as('PUT', '/v1/users/alice/preferences', { categories: { transactions: ['push'] } }),
        404,
        /User 'alice' does not exist/,
      );
      await expectProblem(await as('GET', `/v1/notifications/${id}`), 404, /does not exist/);
      await expectProblem(await as('GET', `/v1/notifications/${id}/audit`), 404, /does not exist/);
      await expectProblem(await as('POST', `/v1/notifications/${id}/cancel`), 404, /does not exist/);
    }, b.tenantId);

    expect(await rowCounts(b.tenantId)).toEqual({ notifications: 0, audit: 0 });
    expect(await (await engine.request('GET', '/v1/users/alice/preferences')).json()).toEqual(prefsBefore);
    // Tenant A's notification still runs to its end, untouched by B's cancel.
    const done = await waitUntil(async () => {
      const n = (await (await engine.request('GET', `/v1/notifications/${id}`)).json()) as { status: string };
      return n.status === 'delivered' ? n : undefined;
    });
    expect(done.status).toBe('delivered');
    expect((await rowCounts(engine.tenantId)).notifications).toBe(aCounts.notifications);
    await sleep(1500);
    expect(await workflowsOf(b.tenantId)).toEqual([]);
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document listing every route the app serves', async () => {
    const res = await engine.request('GET', '/openapi.json', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = (await res.json()) as {
      openapi: string;
      info: { title: string; version: string };
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: { name: string; in: string }[];
            responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
            requestBody?: unknown;
          }
        >
      >;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect((doc as { security?: unknown }).security).toEqual([{ tenantKey: [] }]);
    expect(doc.components.securitySchemes.tenantKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();

    // The routes Hono serves, in OpenAPI path syntax.
    const app = createApi({ db: engine.database.db, temporal: engine.client, taskQueue: engine.taskQueue });
    const served = new Set(
      app.routes
        // Server-rendered HTML pages (preference centre, operator console) are not part of the JSON API's document.
        .filter((r) => r.method !== 'ALL' && !/^\/(console|preferences)(\/|$)/.test(r.path))
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    );
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
    // Each side separately, so a failure names exactly the routes to document (or to drop).
    expect([...served].filter((r) => !documented.has(r)).sort(), 'served but missing from /openapi.json').toEqual([]);
    expect([...documented].filter((r) => !served.has(r)).sort(), 'documented but not served').toEqual([]);

    for (const [path, ops] of Object.entries(doc.paths)) {
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(ops)) {
        // Every path template is declared as a parameter, and every operation answers problems.
        const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        expect(pathParams.sort(), `${method} ${path}`).toEqual(templated.sort());
        const codes = Object.keys(op.responses);
        expect(
          codes.some((c) => c.startsWith('2')),
          `${method} ${path}`,
        ).toBe(true);
        // An operation either inherits the tenant key, names a declared scheme, or is open
        // (security: []); whatever needs a key documents the 401 problem.
        const security = (op as { security?: Record<string, unknown>[] }).security;
        for (const scheme of (security ?? []).flatMap((r) => Object.keys(r))) {
          expect(doc.components.securitySchemes[scheme], `${method} ${path} uses ${scheme}`).toBeDefined();
        }
        if (security === undefined || security.length > 0) {
          expect(op.responses['401']?.content?.['application/problem+json'], `${method} ${path}`).toBeDefined();
        }
        // JSON bodies everywhere but the RFC 8058 one-click form.
        const bodyType = path === '/v1/unsubscribe/{token}' ? 'application/x-www-form-urlencoded' : 'application/json';
        if (op.requestBody) expect(op.requestBody, `${method} ${path}`).toMatchObject({ content: { [bodyType]: { schema: expect.any(Object) } } });
        // Every answer but a 204 says what its body is, in each media type it comes in (the unsubscribe
        // pages answer a browser in HTML, anyone else in JSON); test/api-fuzz.test.ts checks each body.
        for (const [code, response] of Object.entries(op.responses)) {
          if (code === '204') continue;
          const schemas = Object.values(response.content ?? {}).map((m) => m.schema);
          expect(schemas.length, `${method} ${path} ${code}`).toBeGreaterThan(0);
          for (const schema of schemas) expect(schema, `${method} ${path} ${code}`).toEqual(expect.any(Object));
        }
        const refs = JSON.stringify(op).match(/"\$ref":"([^"]+)"/g) ?? [];
        for (const ref of refs) {
          const name = /#\/components\/schemas\/(\w+)/.exec(ref)?.[1];
          expect(name && doc.components.schemas[name], ref).toBeTruthy();
        }
      }
    }
    expect(doc.paths['/v1/notifications']?.post?.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }));
    // The service's own endpoints are open; the tenant API is not.
    expect((doc.paths['/health']?.get as { security?: unknown }).security).toEqual([]);
    expect((doc.paths['/openapi.json']?.get as { security?: unknown }).security).toEqual([]);
    expect((doc.paths['/v1/notifications']?.post as { security?: unknown }).security).toBeUndefined();
    expect(doc.paths['/v1/notifications']?.post?.requestBody).toMatchObject({
      required: true,
      content: {
        'application/json': { schema: { type: 'object', required: expect.arrayContaining(['userId', 'type', 'data']), additionalProperties: false } },
      },
    });
  });
});

describe('cancel', () => {
  async function statusOf(id: string) {
    return (await (await engine.request('GET', `/v1/notifications/${id}`)).json()) as { status: string; attempts: { outcome: string }[] };
  }

  it('of a delivered notification → 409, and nothing changes', async () => {
    const res = await post(validTransaction, { 'idempotency-key': 'cancel-late' });
    const { id } = (await res.json()) as { id: string };
    await waitUntil(async () => (await statusOf(id)).status === 'delivered');
    const auditBefore = await (await engine.request('GET', `/v1/notifications/${id}/audit`)).json();
    await expectNothingDone(async () => {
      await expectProblem(await engine.request('POST', `/v1/notifications/${id}/cancel`), 409, /already delivered/);
    });
    expect(await (await engine.request('GET', `/v1/notifications/${id}/audit`)).json()).toEqual(auditBefore);
    expect((await statusOf(id)).status).toBe('delivered');
  });
});
