// Ceiling 1: the least a notification could cost in Temporal here, one workflow with one
// activity that does nothing. Bundled for the benchmark only; never part of workflows/.
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './activities.js';

const { noop } = proxyActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });

export async function noopWorkflow(id: string): Promise<string> {
  return noop(id);
}
