import { createRoute, z } from '@hono/zod-openapi';
import { createLayout, listLayouts, publishLayout } from '../domain/templates/layouts.js';
import type { ApiEnv, AppDeps } from './env.js';
import { BODY_PROBLEMS, jsonBody, jsonResponse, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { LayoutBody, LayoutCreated, LayoutList } from './template-schemas.js';

const routes = {
  list: createRoute({
    method: 'get',
    path: '/',
    summary: "The tenant's brand layouts, newest first",
    responses: { 200: jsonResponse(LayoutList, 'Layouts'), ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS) },
  }),
  create: createRoute({
    method: 'post',
    path: '/',
    summary: 'Create an immutable layout version (MJML with one content slot, logo, colours, footer and legal text per locale)',
    request: { body: jsonBody(LayoutBody) },
    responses: { 201: jsonResponse(LayoutCreated, 'Created'), ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 409) },
  }),
  publish: createRoute({
    method: 'post',
    path: '/{n}/publish',
    summary: 'Make layout n the one new template versions pin (versions already made keep theirs)',
    request: { params: z.object({ n: z.coerce.number().int().positive().max(2_147_483_647) }) },
    responses: { 200: jsonResponse(LayoutCreated, 'Published'), ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 404) },
  }),
};

/** Brand layouts shared by a tenant's templates. */
export function layoutsApi({ db }: AppDeps) {
  const app = router<ApiEnv>();
  app.openapi(routes.list, async (c) => c.json({ layouts: (await listLayouts(db, c.var.tenantId)).map(({ content: _, ...l }) => l) }, 200));
  app.openapi(routes.create, async (c) => {
    const { publish, ...layout } = c.req.valid('json');
    return c.json(await createLayout(db, c.var.tenantId, layout, publish), 201);
  });
  app.openapi(routes.publish, async (c) => c.json(await publishLayout(db, c.var.tenantId, c.req.valid('param').n), 200));
  return app;
}
