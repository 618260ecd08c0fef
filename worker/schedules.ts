import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import { msToNumber, type Duration } from '@temporalio/common';
import { monitoringScheduleIds } from '../workflows/ids.js';
import { blocklistCheckWorkflow, deliveryMonitorWorkflow, domainCheckWorkflow, retentionWorkflow } from '../workflows/monitoring.js';
import { placementRunWorkflow } from '../workflows/placement.js';

export interface MonitoringScheduleOptions {
  taskQueue: string;
  /** Schedule ids are global to the namespace: tests give each engine its own prefix. */
  idPrefix?: string;
  blocklistEvery?: Duration;
  monitorEvery?: Duration;
  /** Sending-domain DNS re-check (and scheduled DKIM rotations); daily by default. */
  domainCheckEvery?: Duration;
  /** Retention run (default daily). */
  retentionEvery?: Duration;
  /** Seed placement run (default daily), and how long it waits before reading the seeds (default 30 minutes). */
  placementEvery?: Duration;
  placementWait?: Duration;
}

/**
 * Creates the blocklist-check, delivery-monitor, domain-check, retention and seed-placement Schedules, or brings existing ones up to date:
 * safe to run at every worker and dev start. A run still going when the next is due is skipped.
 */
export async function ensureMonitoringSchedules(client: Client, opts: MonitoringScheduleOptions): Promise<string[]> {
  const ids = monitoringScheduleIds(opts.idPrefix);
  const schedules: { id: string; every: Duration; action: ScheduleOptionsAction }[] = [
    {
      id: ids.blocklistCheck,
      every: opts.blocklistEvery ?? '15m',
      action: { type: 'startWorkflow', workflowType: blocklistCheckWorkflow, args: [], taskQueue: opts.taskQueue, workflowId: ids.blocklistCheck },
    },
    {
      id: ids.deliveryMonitor,
      every: opts.monitorEvery ?? '5m',
      action: { type: 'startWorkflow', workflowType: deliveryMonitorWorkflow, args: [], taskQueue: opts.taskQueue, workflowId: ids.deliveryMonitor },
    },
    {
      id: ids.domainCheck,
      every: opts.domainCheckEvery ?? '24h',
      action: { type: 'startWorkflow', workflowType: domainCheckWorkflow, args: [], taskQueue: opts.taskQueue, workflowId: ids.domainCheck },
    },
    {
      id: ids.retention,
      every: opts.retentionEvery ?? '1d',
      action: { type: 'startWorkflow', workflowType: retentionWorkflow, args: [], taskQueue: opts.taskQueue, workflowId: ids.retention },
    },
    {
      id: ids.placement,
      every: opts.placementEvery ?? '24h',
      action: {
        type: 'startWorkflow',
        workflowType: placementRunWorkflow,
        args: [{ waitMs: msToNumber(opts.placementWait ?? '30m') }],
        taskQueue: opts.taskQueue,
        workflowId: ids.placement,
      },
    },
  ];
  for (const s of schedules) {
    const spec = { intervals: [{ every: s.every }] };
    const policies = { overlap: ScheduleOverlapPolicy.SKIP };
    try {
      await client.schedule.create({ scheduleId: s.id, spec, action: s.action, policies });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      const handle = client.schedule.getHandle(s.id);
      try {
        await handle.update((prev) => ({ ...prev, spec, action: s.action, policies }));
      } catch (updateErr) {
        // Its arguments were encrypted under a key this process no longer holds (a retired key,
        // or another deployment's): it cannot be read back, so it is replaced whole.
        if (!/unknown key id/i.test(String(updateErr))) throw updateErr;
        await handle.delete();
        await client.schedule.create({ scheduleId: s.id, spec, action: s.action, policies });
      }
    }
  }
  return schedules.map((s) => s.id);
}
