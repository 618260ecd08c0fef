import type { StatusWebhookOutcome } from '../domain/notifications/status.js';

// Every workflow and schedule id is built here, from business keys: one notification is one
// workflow, one outcome one webhook post, one alarm one operator post.

export function notificationWorkflowId(tenantId: string, notificationId: string): string {
  return `notification:${tenantId}:${notificationId}`;
}

export function statusWebhookWorkflowId(notificationId: string, outcome: StatusWebhookOutcome): string {
  return `status-webhook:${notificationId}:${outcome}`;
}

export function alarmWorkflowId(alarmId: string): string {
  return `alarm-notify:${alarmId}`;
}

/** Schedule ids are global to the namespace: tests give each engine its own prefix. */
export function monitoringScheduleIds(prefix = 'notiflow') {
  return { blocklistCheck: `${prefix}-blocklist-check`, deliveryMonitor: `${prefix}-delivery-monitor` };
}
