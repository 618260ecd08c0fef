import { createHash, timingSafeEqual } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Context, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { appendAudit } from '../domain/audit/append.js';
import type { Db } from '../db/client.js';
import { jsonBody, jsonResponse, problemResponses, router } from './contract.js';
import { problems } from './problem.js';

/**
 * The Temporal codec server protocol (POST .../encode, .../decode with Payloads as proto JSON), so
 * an operator with the right reads encrypted payloads in the Temporal UI or `temporal workflow
 * show --codec-endpoint`. Auth: `Authorization: Bearer <admin key or CODEC_TOKEN>`, or CODEC_TOKEN
 * (never the admin key, which would end up in UI settings and proxy logs) as a path segment for a
 * UI that cannot send a header (the dev server's UI). Browsers may call it only from the configured
 * UI origins. Every decode is audited: count, namespace, and which credential opened it.
 */
export interface CodecDeps {
  db: Db;
  codec?: PayloadCodec;
  adminKey?: string;
  codecToken?: string;
  /** Origins allowed by CORS (the Temporal UI's). */
  codecOrigins?: string[];
}

const OPERATOR_TENANT = '*';
type Credential = 'admin-key' | 'codec-token';
const MAX_PAYLOADS = 1000;

const PayloadJson = z
  .object({
    metadata: z.record(z.string(), z.string().regex(/^[A-Za-z0-9+/=_-]*$/, 'base64')).optional(),
    data: z
      .string()
      .regex(/^[A-Za-z0-9+/=_-]*$/, 'base64')
      .optional(),
  })
  .openapi('CodecPayload');
const Payloads = z.object({ payloads: z.array(PayloadJson).max(MAX_PAYLOADS) }).openapi('CodecPayloads');

const fromJson = (p: z.infer<typeof PayloadJson>): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): z.infer<typeof PayloadJson> => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

const digest = (s: string) => createHash('sha256').update(s).digest();

/** CORS for the Temporal UI's origins only; mounted ahead of the method guard so preflights get through. */
export function codecCors(deps: Pick<CodecDeps, 'codecOrigins'>) {
  const origins = new Set(deps.codecOrigins ?? []);
  const allow = cors({
    origin: (origin) => (origins.has(origin) ? origin : null),
    allowMethods: ['POST', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'X-Namespace'],
    credentials: true,
    maxAge: 600,
  });
  // Only a real preflight is answered here; any other OPTIONS gets the router's 405.
  const handler: MiddlewareHandler = (c, next) =>
    c.req.method === 'OPTIONS' && !c.req.header('access-control-request-method') ? next() : allow(c, next);
  return handler;
}

export function codecApi(deps: CodecDeps) {
  const app = router();
  const known: [Credential, Buffer][] = [];
  if (deps.adminKey) known.push(['admin-key', digest(deps.adminKey)]);
  if (deps.codecToken) known.push(['codec-token', digest(deps.codecToken)]);
  /** Which credential this is; in the path only the codec token counts. */
  const credentialOf = (given: string | undefined, via: 'header' | 'path'): Credential | undefined => {
    if (!given) return undefined;
    const d = digest(given);
    // Every candidate is compared (constant time each), so the answer's timing does not say which matched.
    const matches = known.filter(([, k]) => timingSafeEqual(k, d)).map(([name]) => name);
    return matches.find((name) => via === 'header' || name === 'codec-token');
  };
  const run = async (c: Context, op: 'encode' | 'decode', body: z.infer<typeof Payloads>, given: string | undefined, via: 'header' | 'path') => {
    const credential = credentialOf(given, via);
    if (!credential)
      throw problems.unauthorized(
        via === 'path'
          ? 'The path takes the codec token (CODEC_TOKEN) only; send the admin key as "Authorization: Bearer <admin key>"'
          : 'Send the admin key or the codec token as "Authorization: Bearer <token>"',
      );
    if (!deps.codec) throw problems.notFound('No payload keys are configured (TEMPORAL_PAYLOAD_KEYS): this API serves no codec');
    let out: Payload[];
    try {
      out = await deps.codec[op](body.payloads.map(fromJson));
    } catch (err) {
      // The reason (unknown key id, failed authentication) holds no payload data.
      throw problems.invalid(`The payloads could not be ${op}d: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (op === 'decode') {
      await appendAudit(deps.db, {
        tenantId: OPERATOR_TENANT,
        step: 'codec.decoded',
        detail: { payloads: out.length, namespace: c.req.header('x-namespace') ?? null, credential, via },
      });
    }
    return { payloads: out.map(toJson) };
  };

  const bearer = (c: Context) => /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
  const responses = {
    200: jsonResponse(Payloads, 'The payloads, encoded or decoded, in order'),
    ...problemResponses(400, 401, 404, 413, 415, 422),
  };
  const request = { body: jsonBody(Payloads) };
  const TokenParam = z.object({
    token: z
      .string()
      .min(1)
      .max(200)
      .openapi({ param: { name: 'token', in: 'path' } }),
  });
  for (const op of ['encode', 'decode'] as const) {
    const summary =
      op === 'encode' ? 'Encrypt payloads (codec server protocol)' : 'Decrypt payloads for the Temporal UI or CLI (codec server protocol)';
    app.openapi(createRoute({ method: 'post', path: `/${op}`, summary, security: [{ operatorKey: [] }], request, responses }), async (c) =>
      c.json(await run(c, op, c.req.valid('json'), bearer(c), 'header'), 200),
    );
    app.openapi(
      createRoute({
        method: 'post',
        path: `/{token}/${op}`,
        summary: `${summary}; the codec token (CODEC_TOKEN, never the admin key) in the path`,
        security: [],
        request: { ...request, params: TokenParam },
        responses,
      }),
      async (c) => c.json(await run(c, op, c.req.valid('json'), c.req.valid('param').token, 'path'), 200),
    );
  }
  return app;
}
