// The two ceilings the engine is compared with, measured on the same servers in the same run:
// what Temporal allows here (one workflow, one no-op activity, started straight from the client)
// and what SMTP allows here (nodemailer straight to the same inbox, same IPs and pool limits).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { createMailer } from '../domain/email/mailer.js';
import { defaultType } from '../seed/defaults.js';
import { renderVersionEmail } from '../templates/index.js';
import { countActions, type ActionCount } from './actions.js';
import { cpuMsOf, startChild } from './children.js';
import { RECIPIENT_DOMAIN, POOL_IPS } from './stack.js';
import { percentiles, pool, round } from './stats.js';
import type { noopWorkflow } from './noop/workflows.js';

export interface CeilingResult {
  n: number;
  /** Workflows (messages) that completed within the deadline. */
  completed?: number;
  perS: number;
  latencyMs: Record<string, number | null>;
  /** CPU ms per workflow of the no-op worker process and of the Temporal server (when its pid is known). */
  cpuMsPerWorkflow?: { noopWorker: number; temporalServer?: number };
  /** Billable actions of one no-op workflow, counted from its history like a notification's. */
  actions?: ActionCount;
  /** Why the figure is partial: deadline reached, the worker died, workflows failed. */
  cut?: string;
}

const NOOP_QUEUE = 'bench-noop';
/** The server closes a no-op workflow that has not finished in this time, so no wait on one is endless. */
const NOOP_RUN_TIMEOUT = '60 seconds';

/**
 * Ceiling 1: `n` one-activity no-op workflows with `concurrency` in flight, on their own worker
 * process. Bounded: nothing new starts after `deadline`, each workflow has a run timeout, and the
 * wait ends if the worker process dies. A stall is explained from a stuck workflow's history
 * (e.g. a workflow task failing on every attempt).
 */
export async function temporalCeiling(
  client: Client,
  target: { temporalAddress: string; payloadKeys: string; temporalPid?: number },
  n: number,
  concurrency: number,
  deadline: number,
  log: (m: string) => void = () => {},
): Promise<CeilingResult> {
  const worker = await startChild(
    'bench/noop/worker.ts',
    // The same payload codec as the bench's client: without it every workflow task fails to decode its input.
    { TEMPORAL_ADDRESS: target.temporalAddress, TEMPORAL_TASK_QUEUE: NOOP_QUEUE, TEMPORAL_PAYLOAD_KEYS: target.payloadKeys },
    { ready: /noop worker started/, label: 'no-op worker', timeoutMs: Math.min(180_000, Math.max(30_000, deadline - Date.now())) },
  );
  let died: string | undefined;
  const exited = new Promise<void>((resolve) =>
    worker.proc.once('exit', (code, signal) => {
      died = `the no-op worker exited (${code ?? signal}): ${worker.output().slice(-500)}`;
      resolve();
    }),
  );
  const failures: string[] = [];
  const runOne = async (id: string, i: number) => {
    try {
      await client.workflow.execute<typeof noopWorkflow>('noopWorkflow', {
        taskQueue: NOOP_QUEUE,
        workflowId: id,
        args: [String(i)],
        workflowRunTimeout: NOOP_RUN_TIMEOUT,
      });
      return true;
    } catch (err) {
      failures.push(`${id}: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  };
  const bounded = (work: Promise<void>) => Promise.race([work, exited, sleepUntil(deadline)]);
  try {
    // Warm the workflow cache and the connections first, as the engine's worker is by then.
    const warmIds = Array.from({ length: 50 }, () => `noop-warm-${randomUUID()}`);
    await bounded(pool(warmIds.length, 25, async (i) => void (await runOne(warmIds[i]!, i))));
    const latencies: number[] = [];
    let completed = 0;
    const ids: string[] = [];
    const cpu0 = { noop: cpuMsOf(worker.pid), server: target.temporalPid ? cpuMsOf(target.temporalPid) : 0 };
    const started = Date.now();
    if (!died && Date.now() < deadline && failures.length < warmIds.length) {
      await bounded(
        pool(n, concurrency, async (i) => {
          if (Date.now() >= deadline || died) return;
          const id = `noop-${randomUUID()}`;
          ids.push(id);
          const t0 = Date.now();
          if (await runOne(id, i)) {
            completed++;
            latencies.push(Date.now() - t0);
          }
        }),
      );
    }
    const elapsedS = Math.max(0.001, (Date.now() - started) / 1000);
    const cpu1 = { noop: cpuMsOf(worker.pid), server: target.temporalPid ? cpuMsOf(target.temporalPid) : 0 };
    const per = Math.max(1, completed);
    let cut: string | undefined;
    if (died) cut = died;
    else if (completed < n) {
      const stuck = ids.find((id) => !failures.some((f) => f.startsWith(id))) ?? warmIds[0]!;
      cut = `${completed}/${n} completed before the deadline${failures.length ? `; ${failures.length} failed, first: ${failures[0]}` : ''}; ${await whyStuck(client, stuck)}`;
    }
    if (cut) log(`  ceiling cut: ${cut}`);
    const sample = ids.filter((id) => !failures.some((f) => f.startsWith(id))).slice(0, 5);
    return {
      n,
      completed,
      perS: round(completed / elapsedS),
      latencyMs: percentiles(latencies, [50, 95, 99]),
      cpuMsPerWorkflow: {
        noopWorker: round((cpu1.noop - cpu0.noop) / per, 2),
        ...(target.temporalPid ? { temporalServer: round((cpu1.server - cpu0.server) / per, 2) } : {}),
      },
      actions: completed ? await countActions(client, sample, 5).catch(() => undefined) : undefined,
      ...(cut ? { cut } : {}),
    };
  } finally {
    await worker.stop();
  }
}

const sleepUntil = (t: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, t - Date.now())).unref());

/** The last workflow task failure of a workflow that did not finish, from its history. */
async function whyStuck(client: Client, workflowId: string): Promise<string> {
  try {
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const failed = events.filter((e) => e.workflowTaskFailedEventAttributes).at(-1)?.workflowTaskFailedEventAttributes;
    if (failed) return `workflow task failing: ${failed.failure?.message ?? String(failed.cause)}`;
    const started = events.some((e) => e.workflowTaskStartedEventAttributes);
    return started ? `history of ${events.length} events, no workflow task failure` : 'no workflow task was picked up';
  } catch (err) {
    return `history unavailable: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export async function smtpCeiling(smtp: { host: string; port: number }, n: number, concurrency: number, deadline: number): Promise<CeilingResult> {
  // The engine's pool limits for an unknown provider (config/provider-rules.json defaults).
  const mailer = createMailer({ maxConnections: 10, maxMessages: 100 });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dkim = { domainName: 'ceiling.bank.test', keySelector: 'nf1', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  const data = { amount: 42.5, currency: 'EUR', merchant: 'Boulangerie Paul', accountLast4: '1234' };
  const { content: seeded, variables } = defaultType('account.transaction');
  const version = { tenantId: 'bench', type: 'account.transaction', version: 1, content: seeded, variables, layout: null, defaultLocale: 'en' };
  const content = await renderVersionEmail(version, 'en', data, { tenantName: 'Bench Bank', timezone: 'Europe/Paris' });
  const latencies: number[] = [];
  let failed: string | undefined;
  const started = Date.now();
  try {
    await Promise.race([
      pool(n, concurrency, async (i) => {
        if (Date.now() >= deadline || failed) return;
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
        if (!outcome.ok) failed ??= `SMTP ceiling send failed: ${outcome.response}`;
        else latencies.push(Date.now() - t0);
      }),
      sleepUntil(deadline),
    ]);
  } finally {
    await mailer.close();
  }
  const completed = latencies.length;
  const cut = failed ?? (completed < n ? `${completed}/${n} sent before the deadline` : undefined);
  return {
    n,
    completed,
    perS: round(completed / Math.max(0.001, (Date.now() - started) / 1000)),
    latencyMs: percentiles(latencies, [50, 95, 99]),
    ...(cut ? { cut } : {}),
  };
}
