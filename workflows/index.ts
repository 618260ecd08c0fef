// The worker's workflow bundle entry point: every workflow the task queue serves.
export { notificationWorkflow } from './notification.js';
export { digestWorkflow } from './digest.js';
export {
  blocklistCheckWorkflow,
  deliveryMonitorWorkflow,
  domainCheckWorkflow,
  operatorAlarmWorkflow,
  retentionWorkflow,
  tenantDomainEventWorkflow,
} from './monitoring.js';
export { placementRunWorkflow } from './placement.js';
export { statusWebhookWorkflow } from './status-webhook.js';
export { testSendWorkflow } from './test-send.js';
