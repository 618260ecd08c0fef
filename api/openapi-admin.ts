import { z } from 'zod';
import * as a from './admin-schemas.js';

// The /v1/admin part of the OpenAPI document, from the same zod schemas the handlers use.

const json = (schema: z.ZodType) => ({ 'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) } });
const ok = (description: string, schema: z.ZodType) => ({ description, content: json(schema) });
const problem = { description: 'Problem details (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
const errors = { '401': problem, '404': problem, '413': problem, '422': problem };
const security = [{ operatorKey: [] }];
const ipPath = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'IP id' };
const tenantPath = { name: 'tenantId', in: 'path', required: true, schema: { type: 'string' } };

export const operatorKeyScheme = { type: 'http', scheme: 'bearer', description: 'Operator key (ADMIN_API_KEY); tenant keys are refused' };

export function adminPaths() {
  return {
    '/v1/admin/pools': { get: { summary: 'Pools with their IPs, tenants and fallback users', security, responses: { '200': ok('Pools', a.PoolsView), ...errors } } },
    '/v1/admin/ips': {
      get: {
        summary: 'Every sending IP with its score and state, overall and per provider',
        security,
        parameters: [{ name: 'pool', in: 'query', required: false, schema: { type: 'string' } }],
        responses: { '200': ok('IPs', z.object({ ips: z.array(a.IpView) })), ...errors },
      },
    },
    '/v1/admin/ips/{id}': { get: { summary: 'One IP with its recent outcomes per provider (24 h)', security, parameters: [ipPath], responses: { '200': ok('The IP', a.IpDetailView), ...errors } } },
    '/v1/admin/ips/{id}/suspend': {
      post: { summary: 'Suspend an IP for one provider or all, for a time (audited)', security, parameters: [ipPath], requestBody: { content: json(a.SuspendBody) }, responses: { '200': ok('The IP', a.IpView), ...errors } },
    },
    '/v1/admin/ips/{id}/resume': {
      post: { summary: 'Lift suspensions and throttles of an IP (audited)', security, parameters: [ipPath], requestBody: { content: json(a.ResumeBody) }, responses: { '200': ok('The IP', a.IpView), ...errors } },
    },
    '/v1/admin/tenants/{tenantId}/pool': {
      put: {
        summary: "Move a tenant to another pool and set its fallback pool (audited); another tenant's dedicated pool is refused",
        security,
        parameters: [tenantPath],
        requestBody: { content: json(a.MovePoolBody) },
        responses: { '200': ok('The binding', a.TenantPoolView), '409': problem, ...errors },
      },
    },
  };
}
