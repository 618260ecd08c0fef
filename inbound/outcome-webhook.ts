import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { statusWebhookWorkflowId } from '../workflows/ids.js';
import { statusWebhookWorkflow } from '../workflows/status-webhook.js';
import type { LateOutcome } from './record.js';

/** Starts the tenant status webhook for a bounce or complaint learnt after sending (once per outcome). */
export function lateOutcomeWebhook(temporal: Client, taskQueue: string): (e: LateOutcome) => Promise<void> {
  return async (e) => {
    try {
      await temporal.workflow.start(statusWebhookWorkflow, {
        taskQueue,
        workflowId: statusWebhookWorkflowId(e.notificationId, e.outcome),
        args: [{ tenantId: e.tenantId, notificationId: e.notificationId, outcome: e.outcome }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  };
}
