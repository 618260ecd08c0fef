// Microsoft SNDS per-IP data, as its automated-access export (data.aspx) or the web page's CSV
// gives it: one line per IP and activity period, no header (a header line is skipped):
// IP, period start, period end, RCPT commands, DATA commands, message recipients, filter result,
// complaint rate, trap period start, trap period end, trap hits, sample HELO, sample MAIL FROM, comments.
import { isIP } from 'node:net';
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { sndsIpDays } from '../../db/schema.js';

export interface SndsRow {
  ip: string;
  day: string;
  rcptCommands: number;
  dataCommands: number;
  messageRecipients: number;
  filterResult: 'GREEN' | 'YELLOW' | 'RED';
  complaintRate: string;
  trapHits: number;
}

/** A line SNDS would not write; the message names the line and the field. */
export class ProviderDataError extends Error {}

/** "12/31/2019 10:00 AM" -> "2019-12-31". */
function sndsDay(v: string, line: number): string {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})\b/.exec(v.trim());
  if (!m) throw new ProviderDataError(`line ${line}: activity period start "${v.slice(0, 40)}" is not M/D/YYYY h:mm AM`);
  const day = `${m[3]}-${m[1]!.padStart(2, '0')}-${m[2]!.padStart(2, '0')}`;
  if (Number.isNaN(Date.parse(day))) throw new ProviderDataError(`line ${line}: ${day} is not a day`);
  return day;
}

const whole = (v: string | undefined, name: string, line: number): number => {
  const s = (v ?? '').trim();
  if (s === '') return 0;
  if (!/^\d{1,10}$/.test(s) || Number(s) > 2 ** 31 - 1) throw new ProviderDataError(`line ${line}: ${name} "${s.slice(0, 20)}" is not a count`);
  return Number(s);
};

export function parseSndsCsv(csv: string): SndsRow[] {
  const rows: SndsRow[] = [];
  csv.split(/\r?\n/).forEach((text, i) => {
    const line = i + 1;
    if (!text.trim() || /^\s*"?ip address/i.test(text)) return;
    if (text.includes('\0')) throw new ProviderDataError(`line ${line}: contains a NUL character`);
    const f = text.split(',').map((x) => x.trim().replace(/^"|"$/g, ''));
    if (f.length < 11) throw new ProviderDataError(`line ${line}: ${f.length} fields, an SNDS line has at least 11`);
    const ip = f[0]!.toLowerCase();
    if (!isIP(ip)) throw new ProviderDataError(`line ${line}: "${ip.slice(0, 45)}" is not an IP address`);
    const filter = f[6]!.toUpperCase();
    if (filter !== 'GREEN' && filter !== 'YELLOW' && filter !== 'RED')
      throw new ProviderDataError(`line ${line}: filter result "${f[6]!.slice(0, 20)}" is not GREEN, YELLOW or RED`);
    rows.push({
      ip,
      day: sndsDay(f[1]!, line),
      rcptCommands: whole(f[3], 'RCPT commands', line),
      dataCommands: whole(f[4], 'DATA commands', line),
      messageRecipients: whole(f[5], 'message recipients', line),
      filterResult: filter,
      complaintRate: f[7]!.slice(0, 16),
      trapHits: whole(f[10], 'trap hits', line),
    });
  });
  if (rows.length === 0) throw new ProviderDataError('no SNDS data lines');
  // One row per IP and day: a later line for the same pair replaces the earlier.
  return [...new Map(rows.map((r) => [`${r.ip} ${r.day}`, r])).values()];
}

/** Stores the rows; a day imported again is replaced (SNDS revises a day as its data completes). */
export async function importSnds(db: Db, rows: SndsRow[]): Promise<number> {
  await db.transaction(async (tx) => {
    for (let i = 0; i < rows.length; i += 1000) {
      await tx
        .insert(sndsIpDays)
        .values(rows.slice(i, i + 1000))
        .onConflictDoUpdate({
          target: [sndsIpDays.ip, sndsIpDays.day],
          set: {
            rcptCommands: sql`excluded.rcpt_commands`,
            dataCommands: sql`excluded.data_commands`,
            messageRecipients: sql`excluded.message_recipients`,
            filterResult: sql`excluded.filter_result`,
            complaintRate: sql`excluded.complaint_rate`,
            trapHits: sql`excluded.trap_hits`,
            importedAt: sql`now()`,
          },
        });
    }
  });
  return rows.length;
}
