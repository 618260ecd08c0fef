import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApi } from '../api/app.js';
import { connectDatabase, type Database } from '../db/client.js';
import { freePort } from '../dev/ports.js';

// The API in front of a database that is not there (restarting): 503 with Retry-After and a
// problem document instead of a 500; nothing can have been recorded.
let down: Database;
let connection: Connection;

beforeAll(async () => {
  down = connectDatabase(`postgres://postgres@127.0.0.1:${await freePort()}/postgres`);
  connection = await Connection.connect({ address: inject('temporalAddress') });
});
afterAll(async () => {
  await down?.close();
  await connection?.close();
});

describe('an unavailable database', () => {
  it('answers a trigger with 503 and Retry-After, as a problem document', async () => {
    const api = createApi({ db: down.db, temporal: new Client({ connection }), taskQueue: 'unused' });
    const res = await api.request('/v1/notifications', {
      method: 'POST',
      headers: { authorization: 'Bearer nf_test_whatever', 'content-type': 'application/json', 'idempotency-key': 'k-1' },
      body: JSON.stringify({ userId: 'u', type: 'account.transaction', data: {} }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as { detail: string }).detail).toMatch(/database is not reachable/);
  });
});
