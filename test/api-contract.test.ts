// The document says what the handlers refuse, so a request it calls valid is accepted and one it
// calls invalid is refused: checked here by validating requests against the served /openapi.json
// (ajv) and sending them. (scripts/schemathesis.sh does the same at scale against `npm start`.)
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
let engine: TestEngine;
interface Operation {
  parameters: { name: string; schema: object }[];
  requestBody: { content: Record<string, { schema: object }> };
  responses: Record<string, unknown>;
}
let doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };
let ajv: Ajv2020;

beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true });
  doc = (await (await engine.request('GET', '/openapi.json', { key: null })).json()) as typeof doc;
  ajv = new Ajv2020({ strict: false });
  addFormats(ajv);
  ajv.addSchema({ $id: 'doc', components: doc.components }, 'doc');
});
afterAll(async () => engine?.stop());

/** The request body schema of an operation, its $refs resolved against the document. */
function bodyValidator(method: string, path: string) {
  const schema = JSON.parse(
    JSON.stringify(doc.paths[path]![method]!.requestBody.content['application/json']!.schema).replace(/"#\/components/g, '"doc#/components'),
  );
  return ajv.compile(schema);
}

describe('the document states the refusals', () => {
  it('a string with a NUL is outside the document, as the guard refuses it (body, record key, path)', async () => {
    const valid = bodyValidator('put', '/v1/users/{userId}/preferences');
    expect(valid({ categories: { transactions: ['email'] } })).toBe(true);
    expect(valid({ categories: { 'trans\u0000actions': ['email'] } })).toBe(false);
    expect(valid({ categories: { transactions: ['email'] }, actor: 'a\u0000' })).toBe(false);
    const nul = await engine.request('PUT', '/v1/users/alice/preferences', { body: { categories: {}, actor: 'a\u0000' } });
    expect(nul.status).toBe(400);
  });

  it("a layout's {{> content}} slot: exactly one, and only known slots, in the document as in the handler", async () => {
    const valid = bodyValidator('post', '/v1/layouts');
    const layout = (mjml: string, text: string) => ({ mjml, text, colors: { primary: '#123456', background: '#ffffff' } });
    const good = '<mjml><mj-body><mj-section><mj-column>{{> content}}</mj-column></mj-section></mj-body></mjml>';
    expect(valid(layout(good, 'Hi {{> content}}'))).toBe(true);
    for (const [mjml, text] of [
      [good, 'no slot'],
      [good, '{{> content}} and {{> content}}'],
      [good, '{{> content}} {{> nope}}'],
    ] as const) {
      expect(valid(layout(mjml, text)), text).toBe(false);
      const res = await engine.request('POST', '/v1/layouts', { body: layout(mjml, text) });
      expect(res.status, text).toBe(422);
    }
    expect((await engine.request('POST', '/v1/layouts', { body: layout(good, 'Hi {{> content}} {{> links}}') })).status).toBe(201);
  });

  it('unsubscribe tokens and certificate fingerprints have their shapes in the document', () => {
    const token = doc.paths['/v1/unsubscribe/{token}']!.get!.parameters[0]!.schema;
    expect(ajv.validate(token, 'x'.repeat(43))).toBe(true);
    expect(ajv.validate(token, '0')).toBe(false);
    const fp = doc.paths['/v1/admin/tenants/{id}/client-certificates/{fingerprint}']!.delete!.parameters.find(
      (p) => p.name === 'fingerprint',
    )!.schema;
    expect(ajv.validate(fp, 'AB:'.repeat(31) + 'CD')).toBe(true);
    expect(ajv.validate(fp, '0'.repeat(94))).toBe(false);
  });
});

describe('answers the document lists', () => {
  it('a method /v1/notifications/batch does not serve → 405 with Allow: POST (the batch route is not a notification id)', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await engine.request(method, '/v1/notifications/batch');
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
    expect(Object.keys(doc.paths['/v1/notifications/batch']!)).toEqual(['post']);
  });

  it('provider feedback webhooks not configured → 404 problem, as documented', async () => {
    const res = await engine.request('POST', '/v1/feedback/reports', { key: null, body: { type: 'complaint' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/not configured/);
    expect(Object.keys(doc.paths['/v1/feedback/reports']!.post!.responses)).toContain('404');
  });
});

describe('a schema-valid sendAt', () => {
  it('with an offset PostgreSQL does not take (-23:07) is accepted and scheduled at that instant (schemathesis found a 500)', async () => {
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 + 2 * 86_400_000);
    const offsetMs = (23 * 60 + 7) * 60_000;
    const sendAt = `${new Date(at.getTime() - offsetMs).toISOString().slice(0, -1)}-23:07`;
    const put = await engine.request('PUT', '/v1/users/zoe', { body: { email: 'zoe@example.com', locale: 'en' } });
    expect(put.status).toBe(201);
    const res = await engine.request('POST', '/v1/notifications', {
      headers: { 'idempotency-key': 'far-offset-1' },
      body: {
        userId: 'zoe',
        type: 'account.transaction',
        data: { amount: 1, currency: 'EUR', merchant: 'M', accountLast4: '1234' },
        sendAt,
      },
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const [row] = await engine.database.sql<{ send_at: Date }[]>`select send_at from notification_schedules where notification_id = ${id}`;
    expect(new Date(row!.send_at).toISOString()).toBe(at.toISOString());
  });
});
