// The two ceilings the engine is compared with, measured on the same servers in the same run:
// what Temporal allows here (one workflow, one no-op activity, started straight from the client)
// and what SMTP allows here (nodemailer straight to the same inbox, same IPs and pool limits).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { createMailer } from '../domain/email/mailer.js';
import { renderEmail } from '../templates/index.js';
import { startChild } from './children.js';
import { RECIPIENT_DOMAIN, POOL_IPS } from './stack.js';
import { percentiles, pool, round } from './stats.js';
import type { noopWorkflow } from './noop/workflows.js';

export interface CeilingResult {
  n: number;
  perS: number;
  latencyMs: Record<string, number | null>;
}

const NOOP_QUEUE = 'bench-noop';

export async function temporalCeiling(client: Client, temporalAddress: string, n: number, concurrency: number): Promise<CeilingResult> {
  const worker = await startChild(
    'bench/noop/worker.ts',
    { TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_TASK_QUEUE: NOOP_QUEUE },
    { ready: /noop worker started/, label: 'no-op worker', timeoutMs: 120_000 },
  );
  try {
    // Warm the workflow cache and the connections first, as the engine's worker is by then.
    await pool(50, 25, async (i) => {
      await client.workflow.execute<typeof noopWorkflow>('noopWorkflow', {
        taskQueue: NOOP_QUEUE,
        workflowId: `noop-warm-${randomUUID()}`,
        args: [String(i)],
      });
    });
    const latencies: number[] = [];
    const started = Date.now();
    await pool(n, concurrency, async (i) => {
      const t0 = Date.now();
      await client.workflow.execute<typeof noopWorkflow>('noopWorkflow', {
        taskQueue: NOOP_QUEUE,
        workflowId: `noop-${randomUUID()}`,
        args: [String(i)],
      });
      latencies.push(Date.now() - t0);
    });
    return { n, perS: round(n / ((Date.now() - started) / 1000)), latencyMs: percentiles(latencies, [50, 95, 99]) };
  } finally {
    await worker.stop();
  }
}

export async function smtpCeiling(smtp: { host: string; port: number }, n: number, concurrency: number): Promise<CeilingResult> {
  // The engine's pool limits for an unknown provider (config/provider-rules.json defaults).
  const mailer = createMailer({ maxConnections: 10, maxMessages: 100 });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dkim = { domainName: 'ceiling.bank.test', keySelector: 'nf1', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  const data = { amount: 42.5, currency: 'EUR', merchant: 'Boulangerie Paul', accountLast4: '1234' };
  const content = await renderEmail('account.transaction', 'en', data, { tenantName: 'Bench Bank', timezone: 'Europe/Paris' });
  const latencies: number[] = [];
  const started = Date.now();
  try {
    await pool(n, concurrency, async (i) => {
      const id = `ceiling-${randomUUID()}`;
      const source = POOL_IPS[i % POOL_IPS.length]!;
      const t0 = Date.now();
      const outcome = await mailer.send(
        { host: smtp.host, port: smtp.port, localAddress: source, ehloName: `mta.${source}.test` },
        {
          from: '"Bench Bank" <alerts@ceiling.bank.test>',
          to: `user${i}@${RECIPIENT_DOMAIN}`,
          ...content,
          messageId: `<${id}@ceiling.bank.test>`,
          headers: { 'X-Notification-Id': id },
          dkim,
        },
      );
      if (!outcome.ok) throw new Error(`SMTP ceiling send failed: ${outcome.response}`);
      latencies.push(Date.now() - t0);
    });
  } finally {
    await mailer.close();
  }
  return { n, perS: round(n / ((Date.now() - started) / 1000)), latencyMs: percentiles(latencies, [50, 95, 99]) };
}
