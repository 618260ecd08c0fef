// feedback_rejects keeps what strangers mail to the public MX and could not be used. It is
// bounded as a whole (rows and bytes; a repeat only counts; beyond the cap a report is counted and
// dropped), and each row indexes the addresses it quotes, so an erasure deletes by that column
// and stays within the erasing tenant wherever a report was tied to one.
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox } from '../config/secrets.js';
import { feedbackRejects, feedbackRejectsUsage } from '../db/schema.js';
import { startInboundListener, type InboundListener } from '../inbound/server.js';
import { keepRejected, type FeedbackDeps } from '../domain/feedback/record-report.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { openData } from './helpers/smtp-client.js';

const tag = randomUUID().slice(0, 8);
let engine: TestEngine;
const listeners: InboundListener[] = [];

beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true });
});
afterAll(async () => {
  await Promise.all(listeners.map((l) => l.close()));
  await engine?.stop();
});

const db = () => engine.database.db;
const usage = async () => (await db().select().from(feedbackRejectsUsage).where(eq(feedbackRejectsUsage.id, 1)))[0]!;
/** This file's rows (each junk mail carries the tag in its subject). */
const ours = (mark: string) =>
  db()
    .select({
      raw: feedbackRejects.raw,
      repeats: feedbackRejects.repeats,
      recipients: feedbackRejects.recipients,
      tenantId: feedbackRejects.tenantId,
    })
    .from(feedbackRejects)
    .where(sql`${feedbackRejects.raw} like ${`%${mark}%`}`);

async function listener(cap: FeedbackDeps['rejectsCap']): Promise<InboundListener> {
  const l = await startInboundListener(
    { db: db(), secrets: createSecretBox(Buffer.from(engine.secretKey, 'base64')), rejectsCap: cap },
    { reportsPerMinute: 1000 },
  );
  listeners.push(l);
  return l;
}

/** Mails junk that is no report: it is answered 250 and kept as rejected (or dropped at the cap). */
async function junk(port: number, subject: string, body = 'not a report'): Promise<void> {
  const c = await openData(port);
  await c.write(`Subject: ${subject}\r\nFrom: someone@elsewhere.test\r\n\r\n${body}\r\n.\r\n`);
  expect(await c.expect(/^\d{3} /)).toMatch(/^250/);
  c.send('QUIT');
}

describe('the cap on rejected reports', () => {
  it('keeps rows up to the cap, then counts and drops new reports; a repeat only counts', async () => {
    const before = await usage();
    const l = await listener({ rows: before.rows + 3, bytes: Number.MAX_SAFE_INTEGER });
    const mark = `rows-${tag}`;
    for (let i = 0; i < 6; i++) await junk(l.port, `${mark} junk ${i}`);
    // The first mail again, five times: one row, counted, not dropped, however full the table is.
    for (let i = 0; i < 5; i++) await junk(l.port, `${mark} junk 0`);
    const rows = await ours(mark);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.repeats).sort()).toEqual([1, 1, 6]);
    const after = await usage();
    expect(after.rows).toBe(before.rows + 3);
    expect(after.dropped).toBe(before.dropped + 3);
    // The usage row is what the table holds (kept by triggers, prunes included).
    const [real] = await db()
      .select({ rows: sql<number>`count(*)::int`, bytes: sql<number>`coalesce(sum(octet_length(raw) + octet_length(reason)), 0)::bigint` })
      .from(feedbackRejects);
    expect(after.rows).toBe(real!.rows);
    expect(after.bytes).toBe(Number(real!.bytes));
  });

  it('keeps bytes up to the cap: 40 KiB reports beyond it are dropped', async () => {
    const before = await usage();
    const l = await listener({ rows: Number.MAX_SAFE_INTEGER, bytes: before.bytes + 100 * 1024 });
    const mark = `bytes-${tag}`;
    for (let i = 0; i < 4; i++) await junk(l.port, `${mark} junk ${i}`, `${String(i).repeat(40 * 1024)}`);
    expect(await ours(mark)).toHaveLength(2);
    const after = await usage();
    expect(after.bytes).toBeLessThanOrEqual(before.bytes + 100 * 1024);
    expect(after.dropped).toBe(before.dropped + 2);
  });

  it('a report quoting more addresses than are indexed is kept with every address blanked', async () => {
    const l = await listener(undefined);
    const mark = `many-${tag}`;
    const addresses = Array.from({ length: 100 }, (_, i) => `person${i}.${tag}@example.org`);
    await junk(l.port, `${mark} junk`, addresses.join(', '));
    const [row] = await ours(mark);
    expect(row!.raw).not.toContain(`.${tag}@example.org`);
    expect(row!.raw).toContain('<address>');
  });
});

describe('erasure and rejected reports', () => {
  it("deletes the rows that quote the user's address, among them unlinked ones, but not another tenant's nor a longer address", async () => {
    const other = await engine.addTenant();
    const user = `ida-${tag}`;
    const address = `ida.${tag}@example.org`;
    expect((await engine.request('PUT', `/v1/users/${user}`, { body: { email: address } })).status).toBe(201);
    const l = await listener(undefined);
    // Unlinked junk that quotes her (mailed in), and one that quotes a longer address containing hers.
    await junk(l.port, `erase-${tag} unlinked`, `Final-Recipient: rfc822; <${address.toUpperCase()}>.`);
    await junk(l.port, `erase-${tag} longer`, `see x${address} please`);
    // Reports tied to a tenant (they named its notification): hers, and another bank's customer with the same address.
    const deps = { db: db() };
    await keepRejected(deps, {
      source: 'smtp',
      reason: `erase-${tag} mine`,
      raw: `erase-${tag} mine: ${address}`,
      tenantId: engine.tenantId,
      recipients: [address],
    });
    await keepRejected(deps, {
      source: 'smtp',
      reason: `erase-${tag} theirs`,
      raw: `erase-${tag} theirs: ${address}`,
      tenantId: other.tenantId,
      recipients: [address],
    });
    const before = await ours(`erase-${tag}`);
    expect(before).toHaveLength(4);
    // Written in capitals and closing a sentence: indexed as the address itself.
    expect(before.find((r) => r.raw.includes('unlinked'))!.recipients).toContain(address);

    expect((await engine.request('DELETE', `/v1/users/${user}`)).status).toBe(200);
    const left = await ours(`erase-${tag}`);
    expect(left.map((r) => new RegExp(`erase-${tag} (\\w+)`).exec(r.raw)![1]).sort()).toEqual(['longer', 'theirs']);
    expect(left.find((r) => r.raw.includes('theirs'))!.tenantId).toBe(other.tenantId);
  });
});
