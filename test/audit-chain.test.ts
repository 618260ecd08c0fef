// The audit trail is a hash chain per tenant (migration 0011): concurrent writers keep it intact,
// and a row changed, deleted or reordered by a superuser (who can disable the append-only trigger)
// is reported by `npm run audit:verify` and GET /v1/admin/audit/verify.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../domain/audit/append.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

const run = promisify(execFile);
const ADMIN_KEY = `nf_admin_${randomUUID().replace(/-/g, '')}`;
let engine: TestEngine;
const tampered: string[] = [];

beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true, api: { adminKey: ADMIN_KEY } });
});
afterAll(async () => {
  // Remove the chains this file broke on purpose, so the shared database verifies again.
  if (engine && tampered.length) {
    await engine.database.sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`delete from audit_events where tenant_id in ${tx(tampered)}`;
      await tx`delete from audit_chain_heads where tenant_id in ${tx(tampered)}`;
    });
  }
  await engine?.stop();
});

/** A tenant id with `n` audit events written by `writers` concurrent transactions. */
async function chainOf(n: number, writers = 8): Promise<string> {
  const tenantId = `chain-${randomUUID().slice(0, 8)}`;
  const { db } = engine.database;
  await Promise.all(
    Array.from({ length: writers }, (_, w) =>
      (async () => {
        for (let i = w; i < n; i += writers) {
          await db.transaction(async (tx) => appendAudit(tx, { tenantId, step: 'test.step', detail: { i, userId: `u${i % 3}` } }));
        }
      })(),
    ),
  );
  return tenantId;
}

const verifyApi = async (tenantId?: string) => {
  const res = await engine.request('GET', `/v1/admin/audit/verify${tenantId ? `?tenantId=${tenantId}` : ''}`, { key: ADMIN_KEY });
  expect(res.status).toBe(200);
  return (await res.json()) as { ok: boolean; events: number; problems: { seq: number | null; problem: string }[] };
};

const verifyCli = async (tenantId: string) => {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bin/audit-verify.ts', tenantId], {
      env: { ...process.env, DATABASE_URL: engine.databaseUrl },
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
};

/** As a superuser would: with the append-only trigger disabled. */
const asSuperuser = (fn: (tx: typeof engine.database.sql) => Promise<unknown>) =>
  engine.database.sql.begin(async (tx) => {
    await tx`alter table audit_events disable trigger audit_events_no_update`;
    await fn(tx as unknown as typeof engine.database.sql);
    await tx`alter table audit_events enable trigger audit_events_no_update`;
  });

describe('tamper-evident audit chain', () => {
  it('chains concurrent writers without a gap or fork, and both verifiers pass', async () => {
    const tenantId = await chainOf(60);
    const rows = await engine.database.sql<{ seq: string }[]>`select seq from audit_events where tenant_id = ${tenantId} order by seq`;
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    const report = await verifyApi(tenantId);
    expect(report).toMatchObject({ ok: true, events: 60, problems: [] });
    const cli = await verifyCli(tenantId);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/audit chain verified: 1 tenant chains, 60 events/);
  });

  it('reports a row changed by a superuser with the trigger disabled', async () => {
    const tenantId = await chainOf(10);
    tampered.push(tenantId);
    await asSuperuser((tx) => tx`update audit_events set detail = '{"i": 99}' where tenant_id = ${tenantId} and seq = 4`);
    const report = await verifyApi(tenantId);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ seq: 4, problem: expect.stringMatching(/detail changed/) })]);
    const cli = await verifyCli(tenantId);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/seq 4 .*detail changed/);
    expect(cli.stdout).toMatch(/AUDIT CHAIN BROKEN/);

    // Rewriting the digest and hash too only moves the break to the next link.
    await asSuperuser(
      (tx) => tx`update audit_events set detail_digest = audit_detail_digest(detail),
        hash = audit_event_hash(prev_hash, tenant_id, seq, id, at, step, notification_id, audit_detail_digest(detail))
        where tenant_id = ${tenantId} and seq = 4`,
    );
    expect((await verifyApi(tenantId)).problems).toEqual([expect.objectContaining({ seq: 5, problem: expect.stringMatching(/link broken/) })]);
  });

  it('reports a deleted row, a deleted last row and a reordering', async () => {
    const deleted = await chainOf(10);
    tampered.push(deleted);
    await asSuperuser((tx) => tx`delete from audit_events where tenant_id = ${deleted} and seq in (3, 10)`);
    const problems = (await verifyApi(deleted)).problems.map((p) => `${p.seq}: ${p.problem}`);
    expect(problems).toEqual([expect.stringMatching(/^4: events missing before this one/), expect.stringMatching(/^10: events missing at the end/)]);

    const reordered = await chainOf(6);
    tampered.push(reordered);
    await asSuperuser((tx) => tx`update audit_events set seq = case seq when 2 then 3 else 2 end where tenant_id = ${reordered} and seq in (2, 3)`);
    const report = await verifyApi(reordered);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.seq)).toEqual(expect.arrayContaining([2, 3]));
  });

  it('refuses UPDATE, DELETE and TRUNCATE, and lets an erasure only blank a detail', async () => {
    const tenantId = await chainOf(3, 1);
    const { sql } = engine.database;
    await expect(sql`update audit_events set step = 'x' where tenant_id = ${tenantId}`).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_events where tenant_id = ${tenantId}`).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_events`).rejects.toThrow(/append-only/);
    await expect(sql`update audit_chain_heads set seq = 1 where tenant_id = ${tenantId}`).rejects.toThrow(/append-only/);
    // Outside an erasure even blanking is refused; inside one, only blanking.
    await expect(sql`update audit_events set detail = '{"erased": true}' where tenant_id = ${tenantId}`).rejects.toThrow(/append-only/);
    await expect(
      sql.begin(async (tx) => {
        await tx`set local notiflow.erasure = 'on'`;
        await tx`update audit_events set detail = '{"i": 5}' where tenant_id = ${tenantId} and seq = 1`;
      }),
    ).rejects.toThrow(/append-only/);
    await sql.begin(async (tx) => {
      await tx`set local notiflow.erasure = 'on'`;
      await tx`update audit_events set detail = '{"erased": true}' where tenant_id = ${tenantId} and seq = 2`;
    });
    expect(await verifyApi(tenantId)).toMatchObject({ ok: true, events: 3, erased: 1 });
  });

  it('answers 401 without the operator key', async () => {
    const res = await engine.request('GET', '/v1/admin/audit/verify');
    expect(res.status).toBe(401);
  });
});
