import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createRoute, z } from '@hono/zod-openapi';
import { OPEN, router } from './contract.js';

// The API reference page (Scalar) with its script served from our own node_modules: the version
// package-lock.json pins, reviewed with our dependencies, never whatever a CDN serves on the
// console's origin; /docs works offline. The script's URL names its version, so it is cached for
// good; the CSP allows scripts from this origin only.

const dist = dirname(createRequire(import.meta.url).resolve('@scalar/api-reference'));
const version = (JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { version: string }).version;
const bundlePath = `/docs/assets/api-reference-${version}.js`;
const initPath = '/docs/assets/init.js';
let bundle: Buffer | undefined; // 5 MB, read on first request

// No default fonts (they come from fonts.scalar.com); the document is this API's own.
const init = `Scalar.createApiReference('#app', ${JSON.stringify({ url: '/openapi.json', withDefaultFonts: false, hideClientButton: false })});\n`;

const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>notiflow API</title>
  </head>
  <body>
    <div id="app"></div>
    <script src="${bundlePath}"></script>
    <script src="${initPath}"></script>
  </body>
</html>
`;

/** Scripts only from here (no inline script); Scalar sets inline styles; the document is fetched from here. */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const reference = createRoute({
  method: 'get',
  path: '/docs',
  summary: 'Interactive API reference (Scalar, served from this API) reading /openapi.json',
  ...OPEN,
  responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
});

const script = (path: string, summary: string) =>
  createRoute({
    method: 'get',
    path,
    summary,
    ...OPEN,
    responses: { 200: { description: 'JavaScript', content: { 'text/javascript': { schema: z.string() } } } },
  });
const bundleRoute = script(
  bundlePath,
  "The reference page's script: @scalar/api-reference's standalone bundle, from this API's own dependencies (cached for good)",
);
const initRoute = script(initPath, "The reference page's start-up script (points it at /openapi.json)");

/** GET /docs and its two scripts, all from this origin. */
export function docsApi() {
  const app = router();
  app.openapi(reference, (c) => {
    c.header('Content-Security-Policy', DOCS_CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    return c.html(page, 200);
  });
  const js = { 'content-type': 'text/javascript; charset=utf-8', 'x-content-type-options': 'nosniff' };
  app.openapi(bundleRoute, (c) => {
    bundle ??= readFileSync(join(dist, 'browser', 'standalone.js'));
    return c.body(new Uint8Array(bundle), 200, { ...js, 'cache-control': 'public, max-age=31536000, immutable' });
  });
  app.openapi(initRoute, (c) => c.body(init, 200, { ...js, 'cache-control': 'public, max-age=300' }));
  return app;
}
