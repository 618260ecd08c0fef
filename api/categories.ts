import { createRoute, z } from '@hono/zod-openapi';
import { listCategories, putCategory } from '../domain/templates/categories.js';
import type { ApiEnv, AppDeps } from './env.js';
import { BODY_PROBLEMS, jsonBody, jsonResponse, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { CategoryBody, CategoryKey, CategoryView } from './template-schemas.js';

const list = createRoute({
  method: 'get',
  path: '/',
  summary: "The tenant's notification categories",
  responses: {
    200: jsonResponse(z.object({ categories: z.array(CategoryView) }), 'Categories'),
    ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS),
  },
});

const put = createRoute({
  method: 'put',
  path: '/{key}',
  summary: 'Create or replace a category',
  request: { params: z.object({ key: CategoryKey }), body: jsonBody(CategoryBody) },
  responses: {
    200: jsonResponse(CategoryView, 'Replaced'),
    201: jsonResponse(CategoryView, 'Created'),
    ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS),
  },
});

/** Categories: how a type's notifications reach users (required, service, marketing), default channels, labels. */
export function categoriesApi({ db, caches }: AppDeps) {
  const app = router<ApiEnv>();
  app.openapi(list, async (c) => c.json({ categories: await listCategories(db, c.var.tenantId) }, 200));
  app.openapi(put, async (c) => {
    const { key } = c.req.valid('param');
    const { category, created } = await putCategory(db, c.var.tenantId, { key, ...c.req.valid('json') });
    caches.typesByTenant.delete(c.var.tenantId);
    return created ? c.json(category, 201) : c.json(category, 200);
  });
  return app;
}
