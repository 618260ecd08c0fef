import type { Db } from '../../db/client.js';
import type { Channel } from './status.js';
import { writeSteps } from './audit-steps.js';
import { permanent, transient } from '../failures/refusal.js';

/** A held tenant's sends look again this often (the operator's reinstatement is seen then). */
export const HELD_RECHECK_MS = 5 * 60_000;

/**
 * Checked right before each send: a suspended tenant's notification stops here and records why;
 * a held tenant's send waits (retried later) until an operator reinstates it.
 */
export async function tenantGate(
  db: Db,
  row: { tenantId: string; tenantStatus: 'active' | 'suspended' | 'held'; tenantStatusReason: string | null },
  notificationId: string,
  channel: Channel,
): Promise<void> {
  if (row.tenantStatus === 'active') return;
  const reason = row.tenantStatusReason ?? 'no reason given';
  if (row.tenantStatus === 'suspended') {
    await writeSteps(db, [{ tenantId: row.tenantId, notificationId, step: `${channel}.stopped`, detail: { tenantStatus: 'suspended', reason } }]);
    throw permanent('TenantSuspended', `Tenant ${row.tenantId} is suspended (${reason}); nothing is sent`);
  }
  throw transient('TenantHeld', `Tenant ${row.tenantId} is on hold (${reason}); the send waits for an operator`, HELD_RECHECK_MS);
}
