import { applyRetention, type RetentionReport } from '../../domain/privacy/retention.js';
import type { ActivityDeps } from '../deps.js';

export function retentionActivities({ db, logger }: ActivityDeps) {
  return {
    /** Retention per tenant: old content cleared, audit months past retention dropped; audited. */
    async applyRetention(): Promise<RetentionReport> {
      const report = await applyRetention(db);
      logger.info(report, 'retention applied');
      return report;
    },
  };
}
