// Nothing personal in logs: a failed query's parameters (drizzle puts them in the message too)
// never reach a log line, and the address redaction used on SMTP replies stays linear on a
// 1 MB one-line reply (the old pattern backtracked from every position).
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createLogger } from '../config/logger.js';
import { connectDatabase } from '../db/client.js';
import { suppressions } from '../db/schema.js';
import { redactAddresses } from '../domain/failures/redact.js';
import { withoutQueryValues } from '../db/errors.js';
import { activityErrors } from '../worker/activity-errors.js';
import { temporalLogSink } from '../worker/runtime.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const database = connectDatabase(inject('databaseUrl'));
afterAll(() => database.close());

function memoryLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger('info', 'test', sink), lines };
}

describe('logged errors', () => {
  it("a failed query is logged with its message and code, without the driver's parameters", async () => {
    const err = await database.db
      .insert(suppressions)
      .values({ tenantId: 'no-such-tenant', email: 'leak.person@example.fr\u0000', reason: 'manual', source: 'test', detail: 'tok-leaky-push-token' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toContain('leak.person@example.fr'); // drizzle's own message has them
    const { logger, lines } = memoryLogger();
    logger.error({ err }, 'request failed');
    const line = lines.join('');
    expect(line).toContain('request failed');
    expect(line).toContain('Failed query');
    expect(line).not.toContain('leak.person@example.fr');
    expect(line).not.toContain('tok-leaky-push-token');
  });

  it('fields named for personal data are redacted', () => {
    const { logger, lines } = memoryLogger();
    logger.info({ user: { email: 'ann@example.fr', token: 'tok-ann' } }, 'x');
    expect(lines.join('')).not.toMatch(/ann@example\.fr|tok-ann/);
  });
});

/** A real failed insert (a NUL PostgreSQL refuses) whose bound values hold an address and a push token. */
const failedInsert = () =>
  database.db
    .insert(suppressions)
    .values({ tenantId: 'no-such-tenant', email: 'leak.person@example.fr\u0000', reason: 'manual', source: 'test', detail: 'tok-leaky-push-token' })
    .then(
      () => {
        throw new Error('the insert was expected to fail');
      },
      (e: unknown) => e as Error,
    );
const leaks = /leak\.person@example\.fr|tok-leaky-push-token/;

describe('errors that leave an activity (the workflow history) and Temporal log lines', () => {
  it("an activity's database error keeps its SQLSTATE, not the query's values", async () => {
    const err = await failedInsert();
    expect(err.message).toMatch(leaks);
    const next = () => Promise.reject(err);
    const execute = activityErrors().inbound!.execute!;
    const thrown: { message: string; code?: string } = await execute({ args: [], headers: {} }, next).then(
      () => ({ message: 'the activity was expected to fail' }),
      (e: Error & { code?: string }) => e,
    );
    expect(thrown.message).not.toMatch(leaks);
    expect(thrown.message).toBe('database error 22021');
    expect(thrown.code).toBe('22021');
  });

  it('a value PostgreSQL quotes in its own message is dropped too; other errors pass unchanged', async () => {
    const err = await database.sql`select ${'leak.person@example.fr'}::uuid`.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(String(err?.message)).toContain('leak.person@example.fr');
    expect((withoutQueryValues(err) as Error).message).toBe('database error 22P02');
    const mine = new Error('TemplateError: no such variable');
    expect(withoutQueryValues(mine)).toBe(mine);
  });

  it("Temporal's log entry for a failed activity is written without the query's values", async () => {
    const err = await failedInsert();
    const { logger, lines } = memoryLogger();
    temporalLogSink(logger)({ level: 'WARN', message: 'Activity failed', meta: { error: err, durationMs: 12 }, timestampNanos: 0n });
    const line = lines.join('');
    expect(line).toContain('Activity failed');
    expect(line).toContain('Failed query');
    expect(line).not.toMatch(leaks);
  });
});

describe('an unhandled rejection in a long-running process', () => {
  const run = (reason: string) =>
    promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import { createLogger } from './config/logger.ts';
         import { surviveDatabaseRestarts } from './db/unavailable.ts';
         surviveDatabaseRestarts(createLogger('info', 'probe'));
         Promise.reject(${reason});
         setTimeout(() => { console.log('still running'); }, 300);`,
      ],
      { cwd: fileURLToPath(new URL('..', import.meta.url)) },
    ).then(
      ({ stdout }) => ({ code: 0, out: stdout }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );

  it('a dropped database connection (postgres.js re-issuing LISTEN) is logged and the process carries on', async () => {
    const { code, out } = await run(`Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' })`);
    expect(code).toBe(0);
    expect(out).toContain('a database connection dropped outside any query');
    expect(out).toContain('still running');
  });

  it('any other one ends the process, logged without the values a failed query carried', async () => {
    const { code, out } = await run(
      `Object.assign(new Error('Failed query: insert into x values ($1)\\nparams: leak.person@example.fr'), { params: ['tok-leaky-push-token'] })`,
    );
    expect(code).toBe(1);
    expect(out).toContain('unhandled rejection');
    expect(out).not.toContain('still running');
    expect(out).not.toMatch(leaks);
  });
});

describe('address redaction', () => {
  it('replaces addresses in SMTP replies', () => {
    expect(redactAddresses('550 5.1.1 <bob@example.fr>: Recipient address rejected; cc alice@ex.org')).toBe(
      '550 5.1.1 <<address>>: Recipient address rejected; cc <address>',
    );
    expect(redactAddresses('a@b@c and @b@c; @@@@; x@ ;@y')).toBe('<address> and <address>; <address>; x@ ;@y');
  });

  it('is linear on a 1 MB one-line reply (no backtracking blow-up)', () => {
    const long = `550 ${'a'.repeat(1024 * 1024)}`;
    // Under the old pattern each of these took minutes; the test's own time-out is the bound.
    expect(redactAddresses(long)).toBe(long);
    expect(redactAddresses(`${long}@x`)).toBe('550 <address>');
    expect(redactAddresses('@;'.repeat(512 * 1024))).toHaveLength(1024 * 1024);
  }, 10_000);
});
