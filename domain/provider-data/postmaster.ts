// Google Postmaster Tools traffic stats, as the API's domains.trafficStats.list answers them
// ({ trafficStats: [{ name: "domains/<domain>/trafficStats/<YYYYMMDD>", userReportedSpamRatio, ... }] }),
// saved to a file and uploaded. Ratios are 0..1.
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../../db/client.js';
import { postmasterDomainDays } from '../../db/schema.js';

const ratio = z.number().min(0).max(1).optional();
export const TrafficStat = z.object({
  name: z
    .string()
    .max(300)
    .regex(/^domains\/[a-z0-9.-]+\/trafficStats\/\d{8}$/i, 'domains/<domain>/trafficStats/<YYYYMMDD>'),
  userReportedSpamRatio: ratio,
  spfSuccessRatio: ratio,
  dkimSuccessRatio: ratio,
  dmarcSuccessRatio: ratio,
  domainReputation: z.string().max(32).optional(),
});
export const TrafficStats = z.object({ trafficStats: z.array(TrafficStat).min(1).max(5000) });

export async function importPostmaster(db: Db, stats: z.infer<typeof TrafficStat>[]): Promise<number> {
  // The same day twice in one upload: the later entry counts (one row per domain and day).
  const byDay = new Map<string, z.infer<typeof TrafficStat>>();
  for (const s of stats) byDay.set(s.name.toLowerCase(), s);
  const rows = [...byDay.values()].map((s) => {
    const [, domain = '', , ymd = ''] = s.name.split('/');
    return {
      domain: domain.toLowerCase(),
      day: `${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6, 8)}`,
      spamRate: s.userReportedSpamRatio ?? null,
      spfSuccessRatio: s.spfSuccessRatio ?? null,
      dkimSuccessRatio: s.dkimSuccessRatio ?? null,
      dmarcSuccessRatio: s.dmarcSuccessRatio ?? null,
      domainReputation: s.domainReputation ?? null,
    };
  });
  await db
    .insert(postmasterDomainDays)
    .values(rows)
    .onConflictDoUpdate({
      target: [postmasterDomainDays.domain, postmasterDomainDays.day],
      set: {
        spamRate: sql`excluded.spam_rate`,
        spfSuccessRatio: sql`excluded.spf_success_ratio`,
        dkimSuccessRatio: sql`excluded.dkim_success_ratio`,
        dmarcSuccessRatio: sql`excluded.dmarc_success_ratio`,
        domainReputation: sql`excluded.domain_reputation`,
        importedAt: sql`now()`,
      },
    });
  return rows.length;
}
