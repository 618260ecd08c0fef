import { checkBlocklists, type BlocklistReport } from '../../domain/monitor/blocklist.js';
import type { ActivityDeps } from '../deps.js';

export function blocklistActivities(deps: ActivityDeps) {
  return {
    async checkBlocklists(): Promise<BlocklistReport> {
      return checkBlocklists(deps);
    },
  };
}
