import { ParentClosePolicy, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { BlocklistReport } from '../domain/monitor/blocklist.js';
import type { MonitorReport } from '../domain/monitor/delivery-rates.js';
import type { RetentionReport } from '../domain/privacy/retention.js';
import { alarmWorkflowId, domainEventWorkflowId } from './ids.js';
import type { DomainCheckReport, DomainEvent } from '../domain/monitor/domain-check.js';

// Checks run from Temporal Schedules (worker/schedules.ts); each new alarm gets its own
// notification workflow so a slow operator endpoint never holds up the next check.

// A check is a few DNS and SQL queries; a failed one is simply tried again a little later.
const checks = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

// Operator webhooks are retried until acknowledged: backoff up to 10 minutes, for up to 3 days.
const operator = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '3 days',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

export async function notifyAll(alarmIds: string[]): Promise<void> {
  for (const alarmId of alarmIds) {
    await startChild(operatorAlarmWorkflow, {
      workflowId: alarmWorkflowId(alarmId),
      args: [{ alarmId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
  }
}

/** Every sending IP against the DNSBL zones: listed IPs are quarantined and alarmed, delisted ones return. */
/** Retention per tenant (content 90 days, audit 13 months by default), from a daily Schedule. */
export async function retentionWorkflow(): Promise<RetentionReport> {
  return checks.applyRetention();
}

export async function blocklistCheckWorkflow(): Promise<BlocklistReport> {
  const report = await checks.checkBlocklists();
  await notifyAll(report.newAlarms);
  return report;
}

/** Delivery, deferral, bounce and complaint rates per provider and IP against their thresholds. */
export async function deliveryMonitorWorkflow(): Promise<MonitorReport> {
  // The same schedule keeps the monthly partitions of the audit and attempt tables ahead of time.
  await checks.ensureMonthlyPartitions();
  const report = await checks.monitorDeliveryRates();
  await notifyAll(report.newAlarms);
  return report;
}

/** Daily: verified sending domains re-checked (a regression alarms the operator and tells the tenant), scheduled DKIM rotations started. */
export async function domainCheckWorkflow(): Promise<DomainCheckReport> {
  const report = await checks.checkSendingDomains();
  await notifyAll(report.newAlarms);
  const events: DomainEvent[] = [
    ...report.regressed.map((d) => ({ type: 'domain.dns_regressed' as const, ...d })),
    ...report.rotated.map((d) => ({ type: 'domain.dkim_rotation_started' as const, ...d })),
  ];
  for (const event of events) {
    await startChild(tenantDomainEventWorkflow, {
      workflowId: domainEventWorkflowId(event.type, event.domain, workflowInfo().runId),
      args: [event],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  }
  return report;
}

/** Posts one domain event to the tenant's webhook, retried until acknowledged. */
export async function tenantDomainEventWorkflow(event: DomainEvent): Promise<{ posted: boolean }> {
  return operator.postDomainEvent(event);
}

/** Posts one alarm to the operator's webhook, retried until acknowledged. */
export async function operatorAlarmWorkflow({ alarmId }: { alarmId: string }): Promise<{ notified: boolean }> {
  return operator.notifyOperator({ alarmId });
}
