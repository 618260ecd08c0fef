import { OpenAPIHono, z, type Hook } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { problems } from './problem.js';
import { zodProblem } from './validate.js';

// What every route file shares to declare its contract with createRoute: the problem responses,
// JSON content helpers, the security requirements and the router whose validation failures become
// our 4xx problems. /openapi.json is generated from these declarations (api/app.ts).

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z
      .array(
        z
          .object({
            path: z.string(),
            message: z.string(),
            line: z.number().int().optional().describe('MJML line'),
            tag: z.string().optional().describe('MJML tag'),
          })
          .strict(),
      )
      .optional(),
  })
  .strict()
  .openapi('Problem');

const problemDescriptions = {
  400: 'Bad request: malformed JSON, or a NUL character or lone surrogate in a string',
  401: 'Missing or invalid key',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict with the current state',
  410: 'Gone',
  413: 'Request body too large',
  415: 'Unsupported content type',
  422: 'Invalid request: `errors` names each field',
  429: "Too many requests: past the tenant's rate limit, or too many unknown keys from one address",
  503: 'A dependency is not configured or not reachable',
} as const;
export type ProblemStatus = keyof typeof problemDescriptions;

const problemContent = { 'application/problem+json': { schema: ProblemSchema } };

/** What a 429 carries besides its problem: when to retry, and the tenant's quotas (api/rate-limit.ts). */
const tooManyHeaders = {
  'Retry-After': { description: 'Seconds until the request would pass', schema: { type: 'integer' as const } },
  'RateLimit-Policy': {
    description: 'The quotas (draft-ietf-httpapi-ratelimit-headers), e.g. "requests";q=200;w=2',
    schema: { type: 'string' as const },
  },
  RateLimit: {
    description: 'What is left of each quota and seconds until it is whole, e.g. "requests";r=0;t=2',
    schema: { type: 'string' as const },
  },
};

/** The RFC 9457 responses an operation can answer, e.g. `...problemResponses(401, 404)`. */
export function problemResponses<C extends ProblemStatus>(...codes: C[]) {
  return Object.fromEntries(
    codes.map((code) => [
      code,
      { description: problemDescriptions[code], content: problemContent, ...(code === 429 ? { headers: tooManyHeaders } : {}) },
    ]),
  ) as unknown as {
    [K in C]: { description: string; content: typeof problemContent };
  };
}

/** Problems any tenant route can answer: an unsafe string (400), no or a wrong key (401), a key without the route's scope or of a suspended tenant (403), too many unknown keys from one address (429), the database unreachable (503, with Retry-After). */
/** A calendar day, YYYY-MM-DD (a real date: no month 13, no 30 February), 1900 to 2099. */
export const IsoDay = z.iso.date().regex(/^(19|20)\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'a day from 1900 to 2099');

export const TENANT_PROBLEMS = [400, 401, 403, 429, 503] as const;
/** What a route with a JSON body adds: too large, not JSON, not valid. */
export const BODY_PROBLEMS = [413, 415, 422] as const;

export const jsonResponse = <S extends z.ZodType>(schema: S, description: string) => ({ description, content: { 'application/json': { schema } } });
export const jsonBody = <S extends z.ZodType>(schema: S) => ({ required: true, content: { 'application/json': { schema } } });
/** JSON Schema of a zod schema, for a document-only override (see `documented`). */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/**
 * A schema the router validates as is but the document shows with some properties in full: for
 * bodies whose parts the handler checks one by one (a batch's items), so one bad part doesn't
 * refuse the whole request. Zod values in `properties` are converted.
 */
export function documented<S extends z.ZodObject>(schema: S, properties: Record<string, Record<string, unknown>>): S {
  const convert = (v: unknown): unknown =>
    v instanceof z.ZodType
      ? jsonSchemaOf(v)
      : v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convert(x)]))
        : v;
  return schema.openapi({ properties: convert(properties) } as never);
}

/** A record whose keys the router checks with `key`; the document states that check too (as propertyNames). */
export function keyedRecord<K extends z.ZodString, V extends z.ZodType>(key: K, value: V) {
  return z.record(key, value).openapi({ propertyNames: jsonSchemaOf(key) } as never);
}

export const noContent = { description: 'Done; no body' } as const;

/** Operation-level security: open routes (their credential is a signed link or body), operator routes. */
export const OPEN = { security: [] as Record<string, string[]>[] };
export const OPERATOR = { security: [{ operatorKey: [] }] };

const where: Record<string, string> = { json: 'body', form: 'body', param: 'path', query: 'query', header: 'header', cookie: 'cookie' };
const isJson = (type: string | undefined) => /^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type ?? '');

/** Validation failures become the 422 problem naming each field (415 when the body is not JSON at all). */
export const refuseInvalid: Hook<unknown, Env, string, unknown> = (result, c) => {
  if (result.target === 'json' && !isJson(c.req.header('content-type'))) throw problems.unsupportedMediaType('Content-Type must be application/json');
  if (!result.success) throw zodProblem(result.error, where[result.target] ?? result.target);
};

/** An OpenAPIHono sub-app whose validation failures answer our problems: one per resource. */
export function router<E extends Env = Env>(): OpenAPIHono<E> {
  return new OpenAPIHono<E>({ defaultHook: refuseInvalid as unknown as Hook<unknown, E, string, unknown> });
}
