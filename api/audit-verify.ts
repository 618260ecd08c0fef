import { createRoute, z } from '@hono/zod-openapi';
import { verifyAuditChain } from '../domain/audit/verify.js';
import { adminAuth } from './admin-auth.js';
import type { ApiDeps } from './env.js';
import { jsonResponse, problemResponses, router } from './contract.js';

const ChainReport = z
  .object({
    ok: z.boolean(),
    tenants: z.number().int(),
    events: z.number().int(),
    erased: z.number().int(),
    problems: z.array(z.object({ tenantId: z.string(), seq: z.number().int().nullable(), id: z.number().int().nullable(), problem: z.string() })),
  })
  .openapi('AuditChainReport');

/** GET /v1/admin/audit/verify: the audit hash chains recomputed (the same check as `npm run audit:verify`). */
export function auditVerifyApi({ db, adminKey }: ApiDeps) {
  const app = router();
  app.use(adminAuth(adminKey));
  app.openapi(
    createRoute({
      method: 'get',
      path: '/verify',
      summary: 'Verify the tamper-evident audit chains (all tenants, or one)',
      security: [{ operatorKey: [] }],
      request: { query: z.object({ tenantId: z.string().min(1).max(64).optional() }) },
      responses: {
        200: jsonResponse(ChainReport, 'The verdict; ok is false when an event was deleted, changed or reordered'),
        ...problemResponses(400, 401, 422),
      },
    }),
    async (c) => c.json(await verifyAuditChain(db, c.req.valid('query').tenantId), 200),
  );
  return app;
}
