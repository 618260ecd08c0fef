// What one notification costs Temporal, independent of machine noise: events in its history,
// workflow tasks, activity tasks (each a round trip through the server) and local activities.
import type { Client } from '@temporalio/client';

export interface HistoryShape {
  events: number;
  workflowTasks: number;
  activityTasks: number;
  localActivities: number;
}

export async function historyShape(client: Client, workflowId: string): Promise<HistoryShape> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const count = (key: string) =>
    events.filter((e) => (e as Record<string, unknown>)[key] !== undefined && (e as Record<string, unknown>)[key] !== null).length;
  return {
    events: events.length,
    workflowTasks: count('workflowTaskCompletedEventAttributes'),
    activityTasks: count('activityTaskScheduledEventAttributes'),
    localActivities: count('markerRecordedEventAttributes'),
  };
}
