import type { Context } from 'hono';
import type { z } from 'zod';
import { problems } from './problem.js';

/** Parses the JSON body against a schema; malformed JSON and schema errors become 4xx problems. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const type = c.req.header('content-type') ?? '';
  if (!type.includes('application/json')) throw problems.unsupportedMediaType('Content-Type must be application/json');
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw problems.badRequest('The request body is not valid JSON');
  }
  return parseWith(schema, raw, 'body');
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const errors = result.error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
    throw problems.invalid(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
  }
  return result.data;
}
