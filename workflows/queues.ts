import { createHash } from 'node:crypto';
import type { Priority } from '@temporalio/common';
import type { CategoryClass } from '../domain/notifications/accept.js';

// Where and in which order a notification's workflow runs: its task queue and its priority.
// Chosen by whoever starts the workflow (api/, through domain/notifications/accept.ts's start)
// and served by worker/create-worker.ts. Client and worker side only: no workflow code imports
// it (it hashes with node:crypto; eslint.config.js allows that for this file alone).
//
// A fair share per tenant in the worker, through Temporal's task queue priority and fairness
// (the server needs matching.enableFairness, see dev/temporal-server.ts and the README): a
// notification's workflow and activity tasks (activities inherit it) are dispatched by priority
// first, then round-robin across tenants, so one tenant's backlog cannot hold back another's
// alerts. A mandatory category (security) goes ahead of everything; opt-in mail (marketing) last.

export type { CategoryClass };

export const PRIORITY = { mandatory: 1, service: 3, optIn: 5 } as const;

/** Fairness keys are limited to 64 bytes: a longer tenant id is replaced by its hash. */
function fairnessKey(tenantId: string): string {
  return Buffer.byteLength(tenantId) <= 64 ? tenantId : createHash('sha256').update(tenantId).digest('hex');
}

export function notificationPriority(tenantId: string, category: CategoryClass): Priority {
  const priorityKey = category.mandatory ? PRIORITY.mandatory : category.requiresOptIn ? PRIORITY.optIn : PRIORITY.service;
  return { priorityKey, fairnessKey: fairnessKey(tenantId) };
}

/**
 * Mandatory alerts also run on a task queue of their own, served by worker slots of their own:
 * once tasks reach a worker its slots are first-come, and another tenant's burst of sends waiting
 * for a send slot must not hold every one of them (worker/create-worker.ts serves both queues).
 */
export function alertsTaskQueue(taskQueue: string): string {
  return `${taskQueue}-alerts`;
}

export function notificationTaskQueue(taskQueue: string, category: CategoryClass): string {
  return category.mandatory ? alertsTaskQueue(taskQueue) : taskQueue;
}
