import { z } from 'zod';
import * as f from './feedback-schemas.js';

// The feedback part of the OpenAPI document: suppressions, status webhook, one-click unsubscribe,
// provider reports and operator alarms, from the same zod schemas the handlers use.

const json = (schema: z.ZodType) => ({ 'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) } });
const ok = (description: string, schema: z.ZodType) => ({ description, content: json(schema) });
const problem = { description: 'Problem details (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
const errors = { '400': problem, '401': problem, '404': problem, '413': problem, '422': problem };
const emailPath = { name: 'email', in: 'path', required: true, schema: { type: 'string', format: 'email' } };
const tokenPath = { name: 'token', in: 'path', required: true, schema: { type: 'string' }, description: 'Signed, expiring token from the List-Unsubscribe link' };
const query = (name: string, schema: z.ZodType) => ({ name, in: 'query', required: false, schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) });
const noContent = { description: 'Done' };

export function feedbackPaths() {
  return {
    '/v1/suppressions': {
      get: {
        summary: 'Suppressed addresses of the tenant (hard bounce, complaint, unsubscribe, manual), by address',
        parameters: [query('limit', f.SuppressionListQuery.shape.limit), query('after', z.string())],
        responses: { '200': ok('A page of entries', z.object({ suppressions: z.array(f.SuppressionView), next: z.string().nullable() })), ...errors },
      },
      post: {
        summary: 'Suppress an address (no e-mail reaches it)',
        requestBody: { required: true, content: json(f.SuppressionBody) },
        responses: { '200': ok('Already suppressed', f.SuppressionView), '201': ok('Added', f.SuppressionView), ...errors },
      },
    },
    '/v1/suppressions/{email}': {
      get: { summary: 'One suppression entry', parameters: [emailPath], responses: { '200': ok('The entry', f.SuppressionView), ...errors } },
      delete: { summary: 'Lift a suppression', parameters: [emailPath], responses: { '204': noContent, ...errors } },
    },
    '/v1/webhook': {
      get: { summary: 'The status webhook URL and its signing secret', responses: { '200': ok('The webhook', f.StatusWebhookView), ...errors } },
      put: {
        summary: 'Set the URL each notification outcome (delivered, bounced, complained, failed, suppressed) is POSTed to, signed (Notiflow-Signature)',
        requestBody: { required: true, content: json(f.StatusWebhookBody) },
        responses: { '200': ok('The webhook and its secret', f.StatusWebhookView), '503': problem, ...errors },
      },
      delete: { summary: 'Stop status webhooks', responses: { '204': noContent, ...errors } },
    },
    '/v1/unsubscribe/{token}': {
      get: { summary: 'Confirmation page for a person following the footer link (changes nothing)', security: [], parameters: [tokenPath], responses: { '200': { description: 'HTML form' }, '403': problem, '410': problem, ...errors } },
      post: {
        summary: 'RFC 8058 one-click unsubscribe: form body "List-Unsubscribe=One-Click" (application/x-www-form-urlencoded); turns the category\'s e-mail off at once',
        security: [],
        parameters: [tokenPath],
        responses: {
          '200': ok('Unsubscribed', z.object({ unsubscribed: z.boolean(), category: z.string(), channels: z.array(z.string()) })),
          '403': problem,
          '409': problem,
          '410': problem,
          ...errors,
        },
      },
    },
    '/v1/feedback/reports': {
      post: {
        summary: 'Complaints and bounces posted by a mailbox provider as JSON, signed with the shared secret',
        security: [],
        parameters: [{ name: 'Notiflow-Signature', in: 'header', required: true, schema: { type: 'string' }, description: 't=<unix>,v1=<hex HMAC-SHA256 of "t.body">' }],
        requestBody: { required: true, content: json(f.ProviderReport) },
        responses: { '202': ok('Recorded, a duplicate, or kept as rejected with the reason', z.object({ status: z.string() })), '503': problem, ...errors },
      },
    },
    '/v1/admin/alarms': {
      get: {
        summary: 'Alarms: blocklist listings and delivery-rate thresholds, newest first',
        security: [{ operatorKey: [] }],
        parameters: [query('state', f.AlarmListQuery.shape.state), query('kind', z.string()), query('limit', f.AlarmListQuery.shape.limit)],
        responses: { '200': ok('Alarms', z.object({ alarms: z.array(z.object({ id: z.string(), kind: z.string(), severity: z.string(), scope: z.string(), message: z.string() })) })), ...errors },
      },
    },
  };
}
