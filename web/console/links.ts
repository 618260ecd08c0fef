// Where the console links a notification to: its workflow in the Temporal UI (when TEMPORAL_UI_URL
// is set) and its own detail page.

export function workflowUrl(temporalUiUrl: string | undefined, namespace: string, workflowId: string): string | undefined {
  return temporalUiUrl
    ? `${temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`
    : undefined;
}

export const detailUrl = (notificationId: string) => `/console/notifications?id=${encodeURIComponent(notificationId)}`;
