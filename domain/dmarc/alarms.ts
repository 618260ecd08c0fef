// Alarms from a stored DMARC report: someone outside our pools sending as the tenant's domain
// and failing DMARC (forged) in volume, or our own IPs failing alignment (a DKIM key or DNS
// record broke). Both name the domain; the sources are in the detail.
import type { Db } from '../../db/client.js';
import { raiseAlarm } from '../monitor/alarms.js';
import { dmarcPasses, poolAddresses } from './sources.js';

export interface DmarcAlarmInput {
  tenantId: string;
  domain: string;
  orgName: string;
  reportId: string;
  rows: { sourceIp: string; count: number; dkim: string; spf: string; reasons: string[] }[];
}

const top = (m: Map<string, number>) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([ip, count]) => ({ ip, count }));

/** Raises what the report shows; returns the kinds raised (for the listener's log). */
export async function dmarcAlarms(db: Db, r: DmarcAlarmInput, forgedThreshold: number): Promise<string[]> {
  const ours = await poolAddresses(db);
  const forged = new Map<string, number>();
  const ownFailing = new Map<string, number>();
  let ownDmarcFail = false;
  for (const row of r.rows) {
    if (ours.has(row.sourceIp)) {
      if (row.dkim !== 'pass' || row.spf !== 'pass') ownFailing.set(row.sourceIp, (ownFailing.get(row.sourceIp) ?? 0) + row.count);
      if (!dmarcPasses(row)) ownDmarcFail = true;
      // Forwarders and mailing lists break SPF (and sometimes DKIM) on the way: not a forgery.
    } else if (!dmarcPasses(row) && !row.reasons.some((x) => x === 'forwarded' || x === 'mailing_list' || x === 'trusted_forwarder')) {
      forged.set(row.sourceIp, (forged.get(row.sourceIp) ?? 0) + row.count);
    }
  }
  const raised: string[] = [];
  const base = { tenantId: r.tenantId, domain: r.domain, reporter: r.orgName, reportId: r.reportId };
  const forgedTotal = [...forged.values()].reduce((a, b) => a + b, 0);
  if (forgedTotal >= forgedThreshold) {
    await raiseAlarm(db, {
      kind: 'dmarc-forged-source',
      scope: `domain:${r.domain}`,
      severity: 'alarm',
      message: `${forgedTotal} messages as ${r.domain} from ${forged.size} source(s) outside our pools failed DMARC (report by ${r.orgName})`,
      detail: { ...base, messages: forgedTotal, sources: top(forged) },
    });
    raised.push('dmarc-forged-source');
  }
  if (ownFailing.size) {
    const messages = [...ownFailing.values()].reduce((a, b) => a + b, 0);
    await raiseAlarm(db, {
      kind: 'dmarc-own-ip-unaligned',
      scope: `domain:${r.domain}`,
      severity: ownDmarcFail ? 'alarm' : 'warn',
      message: `${messages} messages as ${r.domain} from our own IPs failed ${ownDmarcFail ? 'DMARC' : 'DKIM or SPF alignment'} (report by ${r.orgName}): check the DKIM key and the return-path record`,
      detail: { ...base, messages, sources: top(ownFailing) },
    });
    raised.push('dmarc-own-ip-unaligned');
  }
  return raised;
}
