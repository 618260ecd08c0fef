// Temporal Cloud actions per notification, counted from real workflow histories by Cloud's own
// definitions (docs.temporal.io/cloud/actions), and, beside them, the server's own `action`
// counter (its Prometheus endpoint), which also sees what histories do not hold (heartbeats, queries).
import type { Client } from '@temporalio/client';
import { pool, round } from './stats.js';

/** Temporal Cloud list price used for the dollar figures: the first tier, USD per million actions. */
export const PRICE_PER_MILLION_ACTIONS_USD = 50;

export interface ActionCount {
  /** Histories counted. */
  sampled: number;
  /** Mean billable actions per workflow (children included), as Cloud counts them from history. */
  perWorkflow: number;
  /** The same, by kind of action. */
  byKind: Record<string, number>;
  /** Mean history shape: events, workflow tasks, activity tasks, local activity markers. */
  shape: { events: number; workflowTasks: number; activityTasks: number; localActivities: number };
  /** USD per million workflows at PRICE_PER_MILLION_ACTIONS_USD. */
  usdPerMillion: number;
}

type Event = Record<string, unknown> & { eventId?: unknown };
const has = (e: Event, key: string) => e[key] !== undefined && e[key] !== null;
const num = (v: unknown) => (v === undefined || v === null ? 0 : Number(String(v)));

/** Billable actions in one history, by kind (https://docs.temporal.io/cloud/actions). */
export function actionsInHistory(events: Event[]): { byKind: Record<string, number>; children: string[] } {
  const byKind: Record<string, number> = {};
  const add = (kind: string, n = 1) => {
    if (n > 0) byKind[kind] = (byKind[kind] ?? 0) + n;
  };
  // All markers (local activities) recorded by one workflow task count as one action.
  const markerTasks = new Set<string>();
  const children: string[] = [];
  for (const e of events) {
    if (has(e, 'workflowExecutionStartedEventAttributes')) add('workflow started');
    if (has(e, 'activityTaskScheduledEventAttributes')) add('activity scheduled');
    if (has(e, 'activityTaskStartedEventAttributes')) {
      // Retries write no events of their own: the attempt number of the start that stuck counts them.
      const attempt = num((e.activityTaskStartedEventAttributes as { attempt?: unknown }).attempt);
      add('activity retries', Math.max(0, attempt - 1));
    }
    if (has(e, 'markerRecordedEventAttributes')) {
      markerTasks.add(String((e.markerRecordedEventAttributes as { workflowTaskCompletedEventId?: unknown }).workflowTaskCompletedEventId));
    }
    if (has(e, 'workflowTaskCompletedEventAttributes')) {
      const meta = (e.workflowTaskCompletedEventAttributes as { meteringMetadata?: { nonfirstLocalActivityExecutionAttempts?: unknown } })
        .meteringMetadata;
      add('local activity retries', num(meta?.nonfirstLocalActivityExecutionAttempts));
    }
    if (has(e, 'upsertWorkflowSearchAttributesEventAttributes')) add('search attribute upsert');
    if (has(e, 'timerStartedEventAttributes')) add('timer started');
    if (has(e, 'workflowExecutionSignaledEventAttributes')) add('signal received');
    if (has(e, 'workflowExecutionUpdateAcceptedEventAttributes')) add('update accepted');
    if (has(e, 'workflowExecutionOptionsUpdatedEventAttributes')) add('workflow options updated');
    if (has(e, 'startChildWorkflowExecutionInitiatedEventAttributes')) {
      // Two actions: the recorded intent and the start attempt; the child's own actions come on top.
      add('child workflow start (2 each)', 2);
      const id = (e.startChildWorkflowExecutionInitiatedEventAttributes as { workflowId?: string }).workflowId;
      if (id) children.push(id);
    }
  }
  add('local activities (1 per workflow task with markers)', markerTasks.size);
  return { byKind, children };
}

/** Counts the actions of `workflowIds` (up to `sample`) from their histories, children included. */
export async function countActions(client: Client, workflowIds: string[], sample = 50): Promise<ActionCount> {
  const ids = workflowIds.slice(0, sample);
  const total: Record<string, number> = {};
  const shape = { events: 0, workflowTasks: 0, activityTasks: 0, localActivities: 0 };
  const count = async (id: string, depth: number) => {
    const events = ((await client.workflow.getHandle(id).fetchHistory()).events ?? []) as unknown as Event[];
    const { byKind, children } = actionsInHistory(events);
    const prefix = depth > 0 ? 'child: ' : '';
    for (const [k, v] of Object.entries(byKind)) total[prefix + k] = (total[prefix + k] ?? 0) + v;
    if (depth === 0) {
      shape.events += events.length;
      shape.workflowTasks += events.filter((e) => has(e, 'workflowTaskCompletedEventAttributes')).length;
      shape.activityTasks += events.filter((e) => has(e, 'activityTaskScheduledEventAttributes')).length;
      shape.localActivities += events.filter((e) => has(e, 'markerRecordedEventAttributes')).length;
    }
    if (depth === 0) for (const child of children) await count(child, 1);
  };
  await pool(ids.length, 8, (i) => count(ids[i]!, 0));
  const n = Math.max(1, ids.length);
  const byKind = Object.fromEntries(Object.entries(total).map(([k, v]) => [k, round(v / n, 2)]));
  const perWorkflow = round(Object.values(total).reduce((a, b) => a + b, 0) / n, 2);
  return {
    sampled: ids.length,
    perWorkflow,
    byKind,
    shape: {
      events: round(shape.events / n, 1),
      workflowTasks: round(shape.workflowTasks / n, 2),
      activityTasks: round(shape.activityTasks / n, 2),
      localActivities: round(shape.localActivities / n, 2),
    },
    usdPerMillion: round(perWorkflow * PRICE_PER_MILLION_ACTIONS_USD, 0),
  };
}

/** The server's `action` counter for one namespace, by action_type (self-hosted server's own definition). */
export async function scrapeServerActions(metricsUrl: string | undefined, namespace: string): Promise<Record<string, number> | null> {
  if (!metricsUrl) return null;
  try {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    const out: Record<string, number> = {};
    for (const line of text.split('\n')) {
      const m = /^action\{([^}]*)\}\s+([\d.e+]+)/.exec(line);
      if (!m) continue;
      const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
      if (labels.namespace !== namespace) continue;
      const type = labels.action_type ?? 'unknown';
      out[type] = (out[type] ?? 0) + Number(m[2]);
    }
    return out;
  } catch {
    return null;
  }
}

/** Per-notification delta of two scrapes (null when the server exposes no metrics). */
export function serverActionsPer(
  before: Record<string, number> | null,
  after: Record<string, number> | null,
  n: number,
): { perNotification: number; byType: Record<string, number> } | null {
  if (!before || !after) return null;
  const byType: Record<string, number> = {};
  let sum = 0;
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d <= 0) continue;
    byType[k] = round(d / Math.max(1, n), 2);
    sum += d;
  }
  return { perNotification: round(sum / Math.max(1, n), 2), byType };
}
