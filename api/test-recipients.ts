import { createRoute, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { tenants } from '../db/schema.js';
import {
  confirmationMail,
  confirmTestRecipient,
  forgetNewTestRecipient,
  listTestRecipients,
  removeTestRecipient,
  startTestRecipient,
} from '../domain/test-sends/recipients.js';
import type { ApiEnv, AppDeps } from './env.js';
import { BODY_PROBLEMS, jsonBody, jsonResponse, noContent, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { checkTestMail, queueTestMail } from './test-mail.js';
import { TestRecipientBody, TestRecipientConfirmBody, TestRecipientView } from './template-schemas.js';

const idParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

const routes = {
  list: createRoute({
    method: 'get',
    path: '/',
    summary: 'Addresses this tenant may send test messages to, pending or confirmed',
    responses: {
      200: jsonResponse(z.object({ recipients: z.array(TestRecipientView) }), 'Test recipients'),
      ...problemResponses(...TENANT_PROBLEMS),
    },
  }),
  add: createRoute({
    method: 'post',
    path: '/',
    summary:
      'Add a test recipient: an 8-digit code is mailed to it (again, for a pending one), to give back with POST /v1/test-recipients/{id}/confirm',
    request: { body: jsonBody(TestRecipientBody) },
    responses: {
      200: jsonResponse(TestRecipientView, 'Already confirmed (nothing mailed), or pending with a new code mailed'),
      201: jsonResponse(TestRecipientView, 'Added as pending; the code is on its way'),
      ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 409),
    },
  }),
  confirm: createRoute({
    method: 'post',
    path: '/{id}/confirm',
    summary: 'Confirm a test recipient with the code mailed to it',
    request: { params: idParam, body: jsonBody(TestRecipientConfirmBody) },
    responses: { 200: jsonResponse(TestRecipientView, 'Confirmed'), ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 404, 409) },
  }),
  remove: createRoute({
    method: 'delete',
    path: '/{id}',
    summary: 'Remove a test recipient',
    request: { params: idParam },
    responses: { 204: noContent, ...problemResponses(...TENANT_PROBLEMS, 404, 422) },
  }),
};

/** /v1/test-recipients (manage scope): the only addresses template test sends may reach. */
export function testRecipientsApi(deps: AppDeps) {
  const { db } = deps;
  const app = router<ApiEnv>();
  app.openapi(routes.list, async (c) => c.json({ recipients: await listTestRecipients(db, c.var.tenantId) }, 200));
  app.openapi(routes.add, async (c) => {
    const tenantId = c.var.tenantId;
    const { email } = c.req.valid('json');
    // The code travels like any test message: from the verified domain, never to a suppressed address, under the caps.
    await checkTestMail(deps, tenantId, email, 'body.email');
    const { recipient, code, created } = await startTestRecipient(db, tenantId, email);
    if (code === null) return c.json(recipient, 200);
    const [tenant] = await db.select({ name: tenants.name }).from(tenants).where(eq(tenants.id, tenantId));
    try {
      await queueTestMail(
        c,
        deps,
        { purpose: 'confirmation', to: recipient.email, ...confirmationMail(tenant?.name ?? tenantId, code) },
        { step: 'test_recipient.code_sent', detail: { id: recipient.id } },
      );
    } catch (err) {
      // Refused or not queued: a new address is not kept (a pending one keeps a code nobody got; asking again mails a new one).
      if (created) await forgetNewTestRecipient(db, tenantId, recipient.id);
      throw err;
    }
    return created ? c.json(recipient, 201) : c.json(recipient, 200);
  });
  app.openapi(routes.confirm, async (c) =>
    c.json(await confirmTestRecipient(db, c.var.tenantId, c.req.valid('param').id, c.req.valid('json').code), 200),
  );
  app.openapi(routes.remove, async (c) => {
    await removeTestRecipient(db, c.var.tenantId, c.req.valid('param').id);
    return c.body(null, 204);
  });
  return app;
}
