import { createRoute, z } from '@hono/zod-openapi';
import { listClientCerts, normalizeFingerprint, registerClientCert, removeClientCert } from '../domain/tenancy/client-certs.js';
import { adminAuth } from './admin-auth.js';
import { jsonBody, jsonResponse, noContent, OPERATOR, problemResponses, router } from './contract.js';
import type { ApiDeps } from './env.js';
import { problems } from './problem.js';
import { tenantProblem, TenantParams } from './tenants-admin.js';

const fingerprint = z
  .string()
  .max(95)
  // 32 hex pairs, each but the last with or without a colon after it (the document states the pattern).
  .regex(/^(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/, 'a SHA-256 fingerprint: 64 hex digits, colons allowed')
  .refine((v) => normalizeFingerprint(v) !== undefined, 'a SHA-256 fingerprint: 64 hex digits, colons allowed');
const CertParams = TenantParams.extend({ fingerprint: fingerprint.openapi({ param: { name: 'fingerprint', in: 'path' } }) });

const ClientCertView = z
  .object({
    fingerprint: z.string().describe('SHA-256 of the DER certificate, upper-case hex with colons'),
    name: z.string(),
    subject: z.string().nullable(),
    notAfter: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('ClientCertificate');
const RegisterBody = z
  .object({
    certificate: z.string().min(1).max(16_384).optional().describe('The client certificate, PEM'),
    fingerprint: fingerprint.optional().describe('Its SHA-256 fingerprint, instead of (or to check) the PEM'),
    name: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((b) => b.certificate !== undefined || b.fingerprint !== undefined, 'send certificate (PEM) or fingerprint');

const tags = ['operators'];
const { security } = OPERATOR;
const path = '/tenants/{id}/client-certificates';
const routes = {
  register: createRoute({
    method: 'post',
    path,
    tags,
    security,
    summary: "Register a client certificate (mTLS) for a tenant: requests presenting it may only use this tenant's keys",
    request: { params: TenantParams, body: jsonBody(RegisterBody) },
    responses: { 201: jsonResponse(ClientCertView, 'Registered'), ...problemResponses(400, 401, 404, 409, 413, 415, 422) },
  }),
  list: createRoute({
    method: 'get',
    path,
    tags,
    security,
    summary: "A tenant's client certificates",
    request: { params: TenantParams },
    responses: {
      200: jsonResponse(z.object({ certificates: z.array(ClientCertView) }), 'Registered certificates'),
      ...problemResponses(400, 401, 404, 422),
    },
  }),
  remove: createRoute({
    method: 'delete',
    path: `${path}/{fingerprint}`,
    tags,
    security,
    summary: 'Remove a client certificate: refused from the next request on',
    request: { params: CertParams },
    responses: { 204: noContent, ...problemResponses(400, 401, 404, 422) },
  }),
};

const asProblem = tenantProblem('body');

/** Operator routes for tenants' client certificates (mounted under /v1/admin). */
export function clientCertsAdminApi({ db, adminKey }: ApiDeps) {
  const app = router();
  app.use(adminAuth(adminKey));
  const by = 'operator';
  app.openapi(routes.register, async (c) => {
    const cert = await registerClientCert(db, c.req.valid('param').id, { ...c.req.valid('json'), by }).catch(asProblem);
    return c.json(cert, 201);
  });
  app.openapi(routes.list, async (c) => c.json({ certificates: await listClientCerts(db, c.req.valid('param').id).catch(asProblem) }, 200));
  app.openapi(routes.remove, async (c) => {
    const { id, fingerprint: fp } = c.req.valid('param');
    if (!(await removeClientCert(db, id, normalizeFingerprint(fp)!, by))) throw problems.notFound(`Tenant ${id} has no client certificate ${fp}`);
    return c.body(null, 204);
  });
  return app;
}
