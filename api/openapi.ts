import { z } from 'zod';
import { adminPaths, operatorKeyScheme } from './openapi-admin.js';
import { feedbackPaths } from './openapi-feedback.js';
import * as s from './schemas.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) } });
const problem = { description: 'Problem details (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
const ok = (description: string, schema: z.ZodType) => ({ description, content: json(schema) });
const userPath = { name: 'userId', in: 'path', required: true, schema: z.toJSONSchema(s.UserIdParam) };
const idPath = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const errors = { '400': problem, '401': problem, '404': problem, '413': problem, '415': problem, '422': problem };

/** The OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with. */
export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: { title: 'notiflow', version: '0.1.0', description: 'Account alerts by e-mail or push, one durable Temporal workflow per notification.' },
    components: {
      securitySchemes: { tenantKey: { type: 'http', scheme: 'bearer', description: 'Tenant API key' }, operatorKey: operatorKeyScheme },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
          },
        },
      },
    },
    security: [{ tenantKey: [] }],
    paths: {
      // Served without a key, so they override the document-wide security requirement.
      '/health': { get: { summary: 'Liveness', security: [], responses: { '200': ok('The API is up', z.object({ ok: z.boolean() })) } } },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } } } },
      '/v1/users/{userId}': {
        put: { summary: 'Create or replace a user profile', parameters: [userPath], requestBody: { required: true, content: json(s.UserProfile) }, responses: { '200': ok('Updated', s.UserView), '201': ok('Created', s.UserView), ...errors } },
        get: { summary: 'Read a user profile', parameters: [userPath], responses: { '200': ok('The user', s.UserView), ...errors } },
      },
      '/v1/users/{userId}/preferences': {
        get: { summary: 'Channels per category, with their source', parameters: [userPath], responses: { '200': ok('Preferences', s.PreferencesView), ...errors } },
        put: { summary: 'Choose channels per category', parameters: [userPath], requestBody: { required: true, content: json(s.PreferencesBody) }, responses: { '200': ok('Preferences', s.PreferencesView), ...errors } },
      },
      '/v1/notifications': {
        post: {
          summary: 'Trigger a notification',
          parameters: [{ name: 'Idempotency-Key', in: 'header', required: true, schema: z.toJSONSchema(s.IdempotencyKey) }],
          requestBody: { required: true, content: json(s.NotificationRequest) },
          responses: { '202': ok('Accepted (or replayed for a known Idempotency-Key)', s.NotificationAccepted), '503': problem, ...errors },
        },
      },
      '/v1/notifications/batch': {
        post: {
          summary: `Trigger up to ${s.MAX_BATCH_ITEMS} notifications, each with its own idempotency key and result`,
          requestBody: { required: true, content: json(z.object({ notifications: z.array(s.BatchItem).min(1).max(s.MAX_BATCH_ITEMS) })) },
          responses: { '202': ok('Per-item results: 202 with the id, or the 4xx problem; nothing is written for a rejected item', s.BatchResponse), ...errors },
        },
      },
      '/v1/notifications/{id}': { get: { summary: 'Status, channels and delivery attempts', parameters: [idPath], responses: { '200': ok('The notification', s.NotificationView), ...errors } } },
      '/v1/notifications/{id}/audit': { get: { summary: 'Audit trail, oldest first', parameters: [idPath], responses: { '200': ok('The audit trail', s.AuditView), ...errors } } },
      '/v1/notifications/{id}/cancel': { post: { summary: 'Cancel before anything was sent', parameters: [idPath], responses: { '200': ok('Cancelled', s.CancelView), '409': problem, ...errors } } },
      ...adminPaths(),
      ...feedbackPaths(),
    },
  };
}
