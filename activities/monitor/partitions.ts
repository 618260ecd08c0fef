import { ensureMonthlyPartitions } from '../../db/partitions.js';
import type { ActivityDeps } from '../deps.js';

export function partitionActivities({ db, logger }: ActivityDeps) {
  return {
    /** Next months' partitions of the audit and attempt tables, ahead of their first rows. */
    async ensureMonthlyPartitions(): Promise<number> {
      const created = await ensureMonthlyPartitions(db);
      if (created > 0) logger.info({ created }, 'monthly partitions created');
      return created;
    },
  };
}
