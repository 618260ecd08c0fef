import { monitorDeliveryRates, type MonitorReport } from '../../domain/monitor/delivery-rates.js';
import type { ActivityDeps } from '../deps.js';

export function deliveryMonitorActivities(deps: ActivityDeps) {
  return {
    async monitorDeliveryRates(): Promise<MonitorReport> {
      return monitorDeliveryRates(deps);
    },
  };
}
