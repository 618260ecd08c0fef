import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { dkimTxtRecord } from '../db/provision.js';
import { sendingDomains } from '../db/schema.js';

/**
 * A mailauth-compatible resolver that answers DKIM key lookups (`<selector>._domainkey.<domain>`)
 * from the sending domains in Postgres: the DNS zone a tenant would publish, which we don't own here.
 * Every other name is NXDOMAIN, so SPF and DMARC come out as "none" rather than a network error.
 */
export function dkimResolverFromDb(db: Db) {
  return async (name: string, rrtype: string): Promise<string[][]> => {
    const match = /^([^.]+)\._domainkey\.(.+?)\.?$/i.exec(name);
    if (rrtype === 'TXT' && match) {
      const [row] = await db
        .select({ key: sendingDomains.dkimPublicKey })
        .from(sendingDomains)
        .where(and(eq(sendingDomains.dkimSelector, match[1]!), eq(sendingDomains.domain, match[2]!.toLowerCase())))
        .limit(1);
      if (row) return [[dkimTxtRecord(row.key)]];
    }
    throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };
}
