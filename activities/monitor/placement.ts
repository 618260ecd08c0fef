import { checkPlacementRun, planPlacementRun, probeSender, type PlacementPlan, type PlacementReport } from '../../domain/placement/run.js';
import { defaultDeliveryDeps } from '../../domain/pool/delivery-deps.js';
import type { ActivityDeps } from '../deps.js';
import { withHeartbeat } from '../heartbeat.js';

/** Seed placement runs (workflows/placement.ts): plan, one send per probe, then the IMAP check. */
export function placementActivities({ db, mailer, secrets, logger, delivery }: ActivityDeps) {
  const sendProbe = probeSender({ db, mailer, secrets, delivery: delivery ?? defaultDeliveryDeps() });
  return {
    async planPlacementRun(input: { runId: string; trigger: 'schedule' | 'operator'; pools?: string[]; seeds?: string[] }): Promise<PlacementPlan> {
      return planPlacementRun(db, input);
    },
    async sendPlacementProbe({ probeId }: { probeId: string }): Promise<{ status: string }> {
      return sendProbe(probeId, (work) => withHeartbeat(work));
    },
    async checkPlacementRun({ runId }: { runId: string }): Promise<PlacementReport> {
      return checkPlacementRun(db, secrets, logger, runId);
    },
  };
}
