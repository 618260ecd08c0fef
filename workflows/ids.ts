import type { StatusWebhookOutcome } from '../domain/notifications/status.js';

// Every workflow and schedule id is built here, from business keys: one notification is one
// workflow, one outcome one webhook post, one alarm one operator post.

export function notificationWorkflowId(tenantId: string, notificationId: string): string {
  return `notification:${tenantId}:${notificationId}`;
}

export function statusWebhookWorkflowId(notificationId: string, outcome: StatusWebhookOutcome): string {
  return `status-webhook:${notificationId}:${outcome}`;
}

/** A template test message (POST /v1/notification-types/{type}/test-send). */
export function testSendWorkflowId(tenantId: string, testSendId: string): string {
  return `test-send:${tenantId}:${testSendId}`;
}

export function alarmWorkflowId(alarmId: string): string {
  return `alarm-notify:${alarmId}`;
}

/** Schedule ids are global to the namespace: tests give each engine its own prefix. */
export function monitoringScheduleIds(prefix = 'notiflow') {
  return {
    blocklistCheck: `${prefix}-blocklist-check`,
    deliveryMonitor: `${prefix}-delivery-monitor`,
    domainCheck: `${prefix}-domain-check`,
    retention: `${prefix}-retention`,
    placement: `${prefix}-placement`,
  };
}

/** One post per domain event and check run (the run's own workflow id keeps it unique). */
export function domainEventWorkflowId(type: string, domain: string, runId: string): string {
  return `domain-event:${type}:${domain}:${runId}`;
}

/** An operator's placement run (POST /v1/admin/placement/runs). */
export function placementRunWorkflowId(runId: string): string {
  return `placement-run:${runId}`;
}
