// The bench's Temporal ceiling against the real dev server, with the encrypted client the bench
// uses: it completes (it hung when the no-op worker could not decode the encrypted input), and the
// actions counted from the no-op workflows' real histories are Cloud's two (start, one activity).
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { temporalCeiling } from '../bench/ceilings.js';
import { encryptedDataConverter } from '../config/temporal.js';

const payloadKeys = `test:${randomBytes(32).toString('base64')}`;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection, dataConverter: encryptedDataConverter(payloadKeys) });
});
afterAll(async () => {
  await connection?.close();
});

describe('bench Temporal ceiling', () => {
  it('completes every no-op workflow started by an encrypting client, and counts 2 actions for each', { timeout: 240_000 }, async () => {
    const result = await temporalCeiling(client, { temporalAddress: inject('temporalAddress'), payloadKeys }, 10, 5, Date.now() + 150_000);

    expect(result.cut).toBeUndefined();
    expect(result.completed).toBe(10);
    expect(result.actions?.byKind).toEqual({ 'workflow started': 1, 'activity scheduled': 1 });
    expect(result.actions?.perWorkflow).toBe(2);
  });
});
