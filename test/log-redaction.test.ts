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
