import { decodeUserMetadata } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationWorkflowId, testSendWorkflowId } from '../workflows/ids.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, transactionData, trigger } from './helpers/notify.js';
import { confirmTestRecipient } from './helpers/test-recipients.js';
import { waitUntil } from './helpers/wait.js';

// What an operator sees in the Temporal UI: each workflow's summary and details, what it is
// waiting for, and each step's summary, read back from the server the way the UI reads them.

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
});
afterAll(async () => engine?.stop());

const ADDRESS = 'ulla.summary@example.fr';
const TOKEN = 'tok-summary-secret-device';
const personal = [ADDRESS, 'ulla.summary', TOKEN, transactionData.merchant, String(transactionData.amount), transactionData.accountLast4];

/** Every summary and details text the UI can show for one workflow: its own, its current details, its steps'. */
async function shown(workflowId: string) {
  const handle = engine.client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  const metadata = await handle.query(workflowMetadataQuery);
  const converter = engine.client.options.loadedDataConverter;
  const history = await handle.fetchHistory();
  const steps: string[] = [];
  const raw: string[] = [];
  for (const event of history.events ?? []) {
    if (!event.userMetadata) continue;
    raw.push(Buffer.from(event.userMetadata.summary?.data ?? []).toString('latin1'));
    const { staticSummary } = await decodeUserMetadata(converter, event.userMetadata);
    if (staticSummary) steps.push(staticSummary);
  }
  return {
    summary: await description.staticSummary(),
    details: await description.staticDetails(),
    current: metadata.currentDetails ?? '',
    steps,
    raw,
  };
}

describe('Temporal UI summaries', () => {
  it('name the type, category, channel, outcome, IP, provider and template version, and nothing personal', async () => {
    await putUser(engine, 'ulla', { email: ADDRESS, pushTokens: [TOKEN] }, { transactions: ['email', 'push'] });
    const id = await trigger(engine, 'ulla', 'ulla-1');
    expect((await settled(engine, id)).status).toBe('delivered');
    const workflowId = notificationWorkflowId(engine.tenantId, id);
    const ui = await waitUntil(
      async () => {
        const s = await shown(workflowId);
        return s.current.includes('**outcome**') ? s : undefined;
      },
      15_000,
      'final details',
    );

    expect(ui.summary).toBe('account.transaction (transactions)');
    expect(ui.details).toContain('**type** account.transaction');
    expect(ui.details).toContain('**category** transactions');
    expect(ui.current).toContain('**outcome** delivered');
    expect(ui.current).toMatch(
      new RegExp(`email: delivered, IP (${engine.ips.map((ip) => ip.replace(/\./g, '\\.')).join('|')}), provider \\S+, template v1`),
    );
    expect(ui.current).toContain('push: delivered, template v1');
    expect(ui.steps).toEqual(expect.arrayContaining(['send e-mail', 'send push']));
    // The texts travel through the payload codec: the raw history does not hold them in clear.
    expect(ui.raw.join('\n')).not.toContain('send e-mail');

    const everything = [ui.summary, ui.details, ui.current, ...ui.steps].join('\n');
    for (const p of personal) expect(everything).not.toContain(p);
  });

  it('name a test send by type and version, with its IP, and not its address', async () => {
    const to = 'tess.summary@bank.example';
    await confirmTestRecipient(engine, to);
    const res = await engine.request('POST', '/v1/notification-types/account.transaction/test-send', {
      body: { version: 1, locale: 'en', data: transactionData, to },
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const workflowId = testSendWorkflowId(engine.tenantId, id);
    await engine.client.workflow.getHandle(workflowId).result();
    const ui = await shown(workflowId);
    expect(ui.summary).toBe('test send: account.transaction v1');
    expect(ui.current).toMatch(/^email: sent, IP \S+, provider \S+$/);
    expect(ui.steps).toContain('send the test e-mail');
    const everything = [ui.summary, ui.details, ui.current, ...ui.steps].join('\n');
    for (const p of [to, 'tess.summary', transactionData.merchant]) expect(everything).not.toContain(p);
  });

  it("show a notification held by quiet hours as waiting, until the end on the user's clock", async () => {
    const tz = 'Asia/Tokyo';
    const at = (offsetMinutes: number) =>
      new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
        new Date(Date.now() + offsetMinutes * 60_000),
      );
    const quietHours = { starts: at(-60), ends: at(120) };
    await putUser(engine, 'uwe', { email: 'uwe.summary@example.jp', timezone: tz, quietHours }, { transactions: ['email'] });
    const id = await trigger(engine, 'uwe', 'uwe-1');
    const workflowId = notificationWorkflowId(engine.tenantId, id);
    const ui = await waitUntil(
      async () => {
        const s = await shown(workflowId);
        return s.current.startsWith('waiting for quiet hours') ? s : undefined;
      },
      15_000,
      'quiet-hours details',
    );
    expect(ui.current).toContain(`waiting for quiet hours until ${quietHours.ends} (user's time)`);
    expect(ui.summary).toBe('account.transaction (transactions)');
    expect([ui.current, ui.details, ...ui.steps].join('\n')).not.toContain('uwe.summary');
    expect((await engine.request('POST', `/v1/notifications/${id}/cancel`)).status).toBe(200);
  });
});
