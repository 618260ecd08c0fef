import type { MiddlewareHandler } from 'hono';
import type { RouterRoute } from 'hono/types';
import { problemResponse, problems } from './problem.js';

// Request guards that run before any route: an unknown method on a known path, and strings
// Postgres cannot store (NUL) or that are not Unicode (lone surrogates), refused as 4xx problems.

/** A NUL character, or a UTF-16 surrogate without its pair. */
const UNSAFE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when a string anywhere in the value (keys included) has a NUL or a lone surrogate. */
export function hasUnsafeString(value: unknown): boolean {
  if (typeof value === 'string') return UNSAFE.test(value);
  if (Array.isArray(value)) return value.some(hasUnsafeString);
  if (value && typeof value === 'object') return Object.entries(value).some(([k, v]) => UNSAFE.test(k) || hasUnsafeString(v));
  return false;
}

const unsafe = (where: string) =>
  problems.badRequest(`The ${where} contains a NUL character or an unpaired UTF-16 surrogate; such strings are refused`);

/** Path, query and JSON body strings checked once here, so none reaches Postgres (which refuses NUL). */
export const refuseUnsafeStrings: MiddlewareHandler = async (c, next) => {
  const url = new URL(c.req.url);
  let path = url.pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    // Not valid percent-encoded UTF-8: the router keeps such segments as they are.
  }
  if (UNSAFE.test(path)) throw unsafe('path');
  for (const [k, v] of url.searchParams) if (UNSAFE.test(k) || UNSAFE.test(v)) throw unsafe('query');
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && /json/i.test(c.req.header('content-type') ?? '')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await c.req.text());
    } catch {
      // Malformed JSON is the route's to refuse, with its own message.
    }
    if (hasUnsafeString(parsed)) throw unsafe('body');
  }
  await next();
};

/**
 * 405 with `Allow` when the path is served but not with this method (HEAD goes with GET). A path
 * is answered by its most specific templates: /v1/notifications/batch is that route's, not a
 * notification id, so `Allow` lists what the document lists for it.
 */
export function methodNotAllowed(routes: () => readonly RouterRoute[]): MiddlewareHandler {
  let table: { method: string; pattern: RegExp; params: number }[] | undefined;
  const patternOf = (path: string) =>
    new RegExp(
      `^${path
        .split('/')
        .map((s) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/')}$`,
    );
  return async (c, next) => {
    table ??= routes()
      .filter((r) => r.method !== 'ALL')
      .map((r) => ({ method: r.method, pattern: patternOf(r.path), params: r.path.split('/').filter((s) => s.startsWith(':')).length }));
    const matching = table.filter((r) => r.pattern.test(c.req.path));
    const fewest = Math.min(...matching.map((r) => r.params));
    const allowed = new Set(matching.filter((r) => r.params === fewest).map((r) => r.method));
    if (allowed.has('GET')) allowed.add('HEAD');
    if (allowed.size && !allowed.has(c.req.method)) {
      const allow = [...allowed].sort().join(', ');
      c.header('Allow', allow);
      return problemResponse(c, 405, {
        type: 'method-not-allowed',
        title: 'Method not allowed',
        detail: `${c.req.method} is not served on ${c.req.path}; allowed: ${allow}`,
      });
    }
    await next();
  };
}
