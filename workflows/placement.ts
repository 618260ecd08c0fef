import { proxyActivities, setCurrentDetails, sleep, uuid4 } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { PlacementReport } from '../domain/placement/run.js';
import { notifyAll } from './monitoring.js';

// Inbox placement from seed mailboxes, from a Schedule (worker/schedules.ts) or an operator
// (POST /v1/admin/placement/runs): a marked message per pool IP x seed, a durable wait while
// the providers file them, then every seed read over IMAP.

// Planning and the check are SQL and IMAP; a failed one is tried again a little later.
const steps = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});
// A probe send records its own SMTP outcome (a refusal is a result): only infrastructure errors retry.
const send = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});

export interface PlacementRunInput {
  /** How long the providers get to file the messages before the seeds are read. */
  waitMs: number;
  /** Only these pools (an operator's run names them); every pool when absent. */
  pools?: string[];
  /** Only these seed mailboxes; every seed when absent. */
  seeds?: string[];
  /** Set by the API so it can answer with it; a scheduled run makes its own. */
  runId?: string;
  trigger?: 'schedule' | 'operator';
}

export async function placementRunWorkflow(input: PlacementRunInput): Promise<PlacementReport> {
  const runId = input.runId ?? uuid4();
  const plan = await steps.planPlacementRun({ runId, trigger: input.trigger ?? 'schedule', pools: input.pools, seeds: input.seeds });
  if (plan.probes.length === 0) return { runId, cells: [], errors: [], newAlarms: [] };
  setCurrentDetails(`sending ${plan.probes.length} placement messages`);
  await Promise.all(plan.probes.map((probeId) => send.sendPlacementProbe({ probeId })));
  setCurrentDetails(`waiting ${Math.round(input.waitMs / 1000)} s before reading the seeds`);
  await sleep(input.waitMs);
  setCurrentDetails('reading the seed mailboxes');
  const report = await steps.checkPlacementRun({ runId });
  await notifyAll(report.newAlarms);
  setCurrentDetails(`checked: ${report.cells.length} IP x provider results, ${report.newAlarms.length} new alarms`);
  return report;
}
