/** Workflow ids come from business keys, built here only, so one notification is one workflow. */
export function notificationWorkflowId(tenantId: string, notificationId: string): string {
  return `notification:${tenantId}:${notificationId}`;
}
