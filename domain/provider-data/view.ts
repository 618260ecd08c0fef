// Providers' own data beside our scores: SNDS per IP next to our Outlook score of that IP,
// Postmaster per sending domain next to our Gmail scores of the IPs its tenant's pool sends from.
import { and, asc, eq, gte, inArray, lte } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { postmasterDomainDays, sendingDomains, sendingIps, sndsIpDays, tenants } from '../../db/schema.js';
import { loadIpStatus, providerView } from '../pool/ip-status.js';
import type { ProviderRules } from '../pool/rules.js';

const rounded = (n: number) => Math.round(n * 10) / 10;

export async function providerDataView(db: Db, rules: ProviderRules, from: string, to: string) {
  const [snds, postmaster, ipRows] = await Promise.all([
    db
      .select()
      .from(sndsIpDays)
      .where(and(gte(sndsIpDays.day, from), lte(sndsIpDays.day, to)))
      .orderBy(asc(sndsIpDays.ip), asc(sndsIpDays.day)),
    db
      .select()
      .from(postmasterDomainDays)
      .where(and(gte(postmasterDomainDays.day, from), lte(postmasterDomainDays.day, to)))
      .orderBy(asc(postmasterDomainDays.domain), asc(postmasterDomainDays.day)),
    db.select().from(sendingIps).orderBy(sendingIps.id),
  ]);
  const now = Date.now();
  const statuses = await loadIpStatus(db, rules, ipRows, now);
  const scoreFor = (ip: string, provider: string) => {
    const s = statuses.find((x) => x.localAddress.toLowerCase() === ip);
    return s ? rounded(providerView(s, provider, rules, now).score.score) : null;
  };
  const poolOf = (ip: string) => ipRows.find((r) => r.localAddress.toLowerCase() === ip)?.poolId ?? null;

  const ips = [...new Set([...ipRows.map((r) => r.localAddress.toLowerCase()), ...snds.map((r) => r.ip)])].sort().map((ip) => ({
    ip,
    pool: poolOf(ip),
    ourOutlookScore: scoreFor(ip, 'outlook'),
    snds: snds.filter((r) => r.ip === ip).map(({ ip: _ip, importedAt: _at, ...day }) => day),
  }));

  const domainNames = [...new Set(postmaster.map((r) => r.domain))];
  const owners = domainNames.length
    ? await db
        .select({ domain: sendingDomains.domain, tenantId: sendingDomains.tenantId, poolId: tenants.poolId })
        .from(sendingDomains)
        .innerJoin(tenants, eq(tenants.id, sendingDomains.tenantId))
        .where(inArray(sendingDomains.domain, domainNames))
    : [];
  const domains = domainNames.map((domain) => {
    const owner = owners.find((o) => o.domain === domain);
    return {
      domain,
      tenantId: owner?.tenantId ?? null,
      ourGmailScores: ipRows
        .filter((r) => owner && r.poolId === owner.poolId)
        .map((r) => ({ ip: r.localAddress, score: scoreFor(r.localAddress.toLowerCase(), 'gmail') })),
      postmaster: postmaster.filter((r) => r.domain === domain).map(({ domain: _d, importedAt: _at, ...day }) => day),
    };
  });
  return { from, to, ips, domains };
}
