// What one notification costs in Temporal Cloud actions, counted from its real history by the
// bench's counter (Cloud's definitions): a one-channel alert stays within 4, and the search
// attributes a UI filter needs (outcome and channel) are still set on the closed workflow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countActions } from '../bench/actions.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, trigger } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
});
afterAll(async () => engine?.stop());

describe('a one-channel notification', () => {
  it('takes at most 4 Temporal actions (start, one local activity task, the send, one upsert)', async () => {
    await putUser(engine, 'ana', { email: 'ana@example.com', locale: 'en' }, { transactions: ['email'] });
    const id = await trigger(engine, 'ana', 'actions-1');
    const done = await settled(engine, id);
    expect(done.status).toBe('delivered');
    // Postgres says delivered before the workflow's last task (the final upsert) has run: count once it closed.
    await engine.client.workflow.getHandle(done.workflowId).result();

    const actions = await countActions(engine.client, [done.workflowId]);
    expect(actions.byKind).toEqual({
      'workflow started': 1,
      'local activities (1 per workflow task with markers)': 1,
      'activity scheduled': 1,
      'search attribute upsert': 1,
    });
    expect(actions.perWorkflow).toBeLessThanOrEqual(4);

    // The one upsert carries the outcome and the channel: the Temporal UI's filter finds it.
    const query = `TenantId="${engine.tenantId}" AND DeliveryStatus="delivered" AND Channel="email"`;
    const found = await waitUntil(
      async () => {
        for await (const wf of engine.client.workflow.list({ query })) if (wf.workflowId === done.workflowId) return true;
        return false;
      },
      20_000,
      'the workflow listed by outcome and channel',
    );
    expect(found).toBe(true);
  });
});
