// Where trigger -> SMTP-accepted time goes, hop by hop, from the workflow histories of delivered
// notifications (server timestamps) and the bench's own trigger and arrival times. All clocks are
// this machine's.
import type { Client } from '@temporalio/client';
import type postgres from 'postgres';
import { percentiles, pool } from './stats.js';

/** The hops, in order; each is the time between two points of one notification's life. */
export const HOPS = {
  accept: 'trigger sent -> workflow started (API: insert + start)',
  firstTaskWait: 'workflow started -> first workflow task picked up',
  firstTask: 'first workflow task (prepareDelivery local activity) -> completed',
  activityWait: 'send activity scheduled -> picked up by the worker',
  send: 'send activity started -> SMTP accepted',
} as const;
export type Hop = keyof typeof HOPS;

export type HopBreakdown = Record<Hop, Record<string, number | null>> & { sampled: number };

const ms = (t: unknown): number => {
  // History timestamps are protobuf Timestamps (seconds as Long, nanos).
  const ts = t as { seconds?: { toNumber(): number } | number; nanos?: number } | null | undefined;
  if (!ts?.seconds) return NaN;
  const s = typeof ts.seconds === 'number' ? ts.seconds : ts.seconds.toNumber();
  return s * 1000 + (ts.nanos ?? 0) / 1e6;
};

/** Breaks down up to `sample` delivered notifications of a run (by notification id). */
export async function hopBreakdown(
  client: Client,
  sql: postgres.Sql,
  sentAt: Map<string, number>,
  arrivedAt: Map<string, number>,
  sample = 200,
): Promise<HopBreakdown> {
  const ids = [...sentAt.keys()].filter((id) => arrivedAt.has(id)).slice(0, sample);
  const rows = ids.length ? await sql<{ id: string; workflow_id: string }[]>`select id, workflow_id from notifications where id in ${sql(ids)}` : [];
  const samples: Record<Hop, number[]> = { accept: [], firstTaskWait: [], firstTask: [], activityWait: [], send: [] };
  await pool(rows.length, 8, async (i) => {
    const { id, workflow_id } = rows[i]!;
    const events = (await client.workflow.getHandle(workflow_id).fetchHistory()).events ?? [];
    const at = (pick: (e: (typeof events)[number]) => unknown) => ms(events.find((e) => pick(e))?.eventTime);
    const started = at((e) => e.workflowExecutionStartedEventAttributes);
    const taskStarted = at((e) => e.workflowTaskStartedEventAttributes);
    const taskCompleted = at((e) => e.workflowTaskCompletedEventAttributes);
    const scheduled = at((e) => e.activityTaskScheduledEventAttributes);
    const activityStarted = at((e) => e.activityTaskStartedEventAttributes);
    const points: Record<Hop, number> = {
      accept: started - sentAt.get(id)!,
      firstTaskWait: taskStarted - started,
      firstTask: taskCompleted - taskStarted,
      activityWait: activityStarted - scheduled,
      send: arrivedAt.get(id)! - activityStarted,
    };
    for (const hop of Object.keys(points) as Hop[]) if (Number.isFinite(points[hop])) samples[hop].push(points[hop]);
  });
  const out = { sampled: rows.length } as HopBreakdown;
  for (const hop of Object.keys(HOPS) as Hop[]) out[hop] = percentiles(samples[hop], [50, 95, 99]);
  return out;
}
