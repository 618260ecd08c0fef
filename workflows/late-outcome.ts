// Client side (api/, inbound/): no workflow imports this file, so it is not in the workflow bundle.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { statusWebhookWorkflowId } from './ids.js';
import { lateOutcomeSignal } from './notification.js';
import { DeliveryStatusAttr, TenantId } from './search-attributes.js';
import { statusWebhookWorkflow } from './status-webhook.js';
import type { LateOutcome } from '../domain/feedback/record-report.js';

/**
 * A bounce or complaint learnt after sending: a notification workflow still open is told (it shows
 * the new status in its DeliveryStatus); either way the tenant's status webhook is started once per
 * outcome, and that workflow carries DeliveryStatus=bounced/complained, so the Temporal UI finds
 * the notification by its new status after its own workflow has closed (closed workflows cannot be
 * changed). Its id names the notification.
 */
export function lateOutcomeWebhook(temporal: Client, taskQueue: string): (e: LateOutcome) => Promise<void> {
  return async (e) => {
    try {
      await temporal.workflow.getHandle(e.workflowId).signal(lateOutcomeSignal, e.outcome);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    try {
      await temporal.workflow.start(statusWebhookWorkflow, {
        taskQueue,
        workflowId: statusWebhookWorkflowId(e.notificationId, e.outcome),
        args: [{ tenantId: e.tenantId, notificationId: e.notificationId, outcome: e.outcome }],
        typedSearchAttributes: [
          { key: TenantId, value: e.tenantId },
          { key: DeliveryStatusAttr, value: e.outcome },
        ],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  };
}
