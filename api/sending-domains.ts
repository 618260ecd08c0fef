import { Resolver } from 'node:dns/promises';
import { createRoute, z } from '@hono/zod-openapi';
import type { SecretBox } from '../config/secrets.js';
import {
  addDomain,
  defaultDomainSettings,
  DomainError,
  getDomain,
  listDomains,
  rotateDkim,
  setRotationInterval,
  verifyDomain,
} from '../domain/sending-domains/service.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { jsonResponse, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { problems } from './problem.js';

const hostname = z
  .string()
  .max(253)
  // The same check as below, before lower-casing and the trailing dot are taken off: so the document states it.
  .regex(/^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$/, 'a domain name such as acme-pay.test')
  .transform((s) => s.toLowerCase().replace(/\.$/, ''))
  .pipe(z.string().regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a domain name such as acme-pay.test'));
const DomainParams = z.object({
  domain: z
    .string()
    .max(253)
    .openapi({ param: { name: 'domain', in: 'path' }, example: 'acme-pay.test' }),
});

const RecordStatus = z.enum(['ok', 'missing', 'mismatch']);
const RecordView = z.object({
  purpose: z.enum(['dkim', 'dkim-next', 'dkim-previous', 'return-path', 'spf', 'dmarc']),
  type: z.enum(['TXT', 'CNAME']),
  host: z.string(),
  value: z.string(),
  required: z.boolean(),
  status: RecordStatus.optional().describe('From the last check'),
  observed: z.array(z.string()).optional(),
  message: z.string().optional(),
});
const DomainView = z
  .object({
    domain: z.string(),
    fromName: z.string(),
    fromAddress: z.string(),
    status: z.enum(['pending', 'verified', 'failing']),
    dkimSelector: z.string(),
    dkimVerified: z.boolean(),
    firstVerifiedAt: z.string().nullable(),
    lastCheckedAt: z.string().nullable(),
    records: z.array(RecordView),
    rotation: z.object({
      pendingSelector: z.string().nullable(),
      previousSelector: z.string().nullable(),
      previousSafeToRemoveAt: z.string().nullable(),
      previousSafeToRemove: z.boolean(),
      rotateEveryDays: z.number().int().nullable(),
    }),
    createdAt: z.string(),
  })
  .openapi('SendingDomain');
const CheckView = z.object({
  purpose: RecordView.shape.purpose,
  type: RecordView.shape.type,
  host: z.string(),
  expected: z.string(),
  status: RecordStatus,
  observed: z.array(z.string()),
  message: z.string(),
  required: z.boolean(),
});
const VerifyView = z.object({
  domain: z.string(),
  status: DomainView.shape.status,
  dkimSelector: z.string(),
  switchedTo: z.string().optional(),
  records: z.array(CheckView),
});
const AddBody = z.object({ domain: hostname, fromName: z.string().min(1).max(100).optional() }).strict();
const RotationBody = z
  .object({ everyDays: z.number().int().min(1).max(3650).nullable().describe('Rotate every N days (180 is a good start); null stops it') })
  .strict();

const tags = ['sending domains'];
const body = <T extends z.ZodType>(schema: T) => ({ body: { required: true, content: { 'application/json': { schema } } } });
const routes = {
  add: createRoute({
    method: 'post',
    path: '/',
    tags,
    summary: 'Add a domain: a DKIM key is made and the records to publish returned',
    request: body(AddBody),
    responses: { 201: jsonResponse(DomainView, 'The domain and its records'), ...problemResponses(...TENANT_PROBLEMS, 409, 413, 415, 422, 503) },
  }),
  list: createRoute({
    method: 'get',
    path: '/',
    tags,
    summary: "The tenant's sending domains",
    responses: { 200: jsonResponse(z.object({ domains: z.array(DomainView) }), 'Domains'), ...problemResponses(...TENANT_PROBLEMS) },
  }),
  one: createRoute({
    method: 'get',
    path: '/{domain}',
    tags,
    summary: 'One domain, its records and the last check',
    request: { params: DomainParams },
    responses: { 200: jsonResponse(DomainView, 'The domain'), ...problemResponses(...TENANT_PROBLEMS, 404, 422) },
  }),
  verify: createRoute({
    method: 'post',
    path: '/{domain}/verify',
    tags,
    summary: "Look every record up through the engine's resolver",
    request: { params: DomainParams },
    responses: {
      200: jsonResponse(VerifyView, 'Per record: ok, missing or mismatch, what was observed and what to do'),
      ...problemResponses(...TENANT_PROBLEMS, 404, 422, 503),
    },
  }),
  rotate: createRoute({
    method: 'post',
    path: '/{domain}/rotate-dkim',
    tags,
    summary: 'New DKIM key on the idle selector; signing switches once its record verifies',
    request: { params: DomainParams },
    responses: { 200: jsonResponse(DomainView, 'The domain with its dkim-next record'), ...problemResponses(...TENANT_PROBLEMS, 404, 409, 422, 503) },
  }),
  rotation: createRoute({
    method: 'put',
    path: '/{domain}/dkim-rotation',
    tags,
    summary: 'Rotate the DKIM key every N days (started by the daily domain check)',
    request: { params: DomainParams, ...body(RotationBody) },
    responses: { 200: jsonResponse(DomainView, 'Updated'), ...problemResponses(...TENANT_PROBLEMS, 404, 413, 415, 422) },
  }),
};

const asProblem = (err: unknown): never => {
  if (err instanceof DomainError) throw err.kind === 'not-found' ? problems.notFound(err.message) : problems.conflict(err.message);
  throw err;
};

/** /v1/sending-domains: needs the manage scope. */
export function sendingDomainsApi(deps: ApiDeps) {
  const { db } = deps;
  const settings = deps.domainSettings ?? defaultDomainSettings;
  const resolver = deps.resolver ?? new Resolver({ timeout: 2_000, tries: 2 });
  const secrets = (): SecretBox => {
    if (!deps.secrets) throw problems.unavailable('Sending domains need the engine secret key (SECRET_KEY), which this API was not given');
    return deps.secrets;
  };
  const app = router<ApiEnv>();
  app.openapi(routes.add, async (c) =>
    c.json(await addDomain(db, secrets(), settings, c.var.tenantId, { ...c.req.valid('json'), by: 'api-key' }).catch(asProblem), 201),
  );
  app.openapi(routes.list, async (c) => c.json({ domains: await listDomains(db, settings, c.var.tenantId) }, 200));
  app.openapi(routes.one, async (c) => c.json(await getDomain(db, settings, c.var.tenantId, c.req.valid('param').domain).catch(asProblem), 200));
  app.openapi(routes.verify, async (c) => {
    const outcome = await verifyDomain(db, resolver, settings, c.var.tenantId, c.req.valid('param').domain, 'api-key').catch((err: unknown) => {
      if (err instanceof DomainError) return asProblem(err);
      throw problems.unavailable(`The DNS lookup failed (${(err as { code?: string }).code ?? 'error'}); try again`);
    });
    return c.json(
      {
        domain: outcome.view.domain,
        status: outcome.view.status,
        dkimSelector: outcome.view.dkimSelector,
        ...(outcome.switchedTo ? { switchedTo: outcome.switchedTo } : {}),
        records: outcome.checks,
      },
      200,
    );
  });
  app.openapi(routes.rotate, async (c) =>
    c.json(await rotateDkim(db, secrets(), settings, c.var.tenantId, c.req.valid('param').domain, 'api-key').catch(asProblem), 200),
  );
  app.openapi(routes.rotation, async (c) =>
    c.json(
      await setRotationInterval(db, settings, c.var.tenantId, c.req.valid('param').domain, c.req.valid('json').everyDays, 'api-key').catch(asProblem),
      200,
    ),
  );
  return app;
}
