// npm start seeds the demo tenant and prints its key: that key must work, even after a client
// revoked it (any key may revoke itself), without deleting the data directory.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox } from '../config/secrets.js';
import { seedDemo } from '../dev/demo-seed.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { waitUntil } from './helpers/wait.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true });
});
afterAll(async () => {
  await engine?.stop();
});

describe('the demo key printed by npm start', () => {
  it('stays the same from run to run, and is replaced by a working one once revoked', async () => {
    const secrets = createSecretBox(randomBytes(32));
    const seed = () => seedDemo(engine.database.db, secrets, { host: engine.inbox.host, port: engine.inbox.port });
    const first = (await seed()).apiKey;
    expect((await seed()).apiKey).toBe(first);
    expect((await engine.request('GET', '/v1/users/alice', { key: first })).status).toBe(200);

    // The demo revokes its own key through the API, as any client may.
    const keys = (await (await engine.request('GET', '/v1/api-keys', { key: first })).json()) as { keys: { id: string; prefix: string }[] };
    const own = keys.keys.find((k) => first.startsWith(k.prefix));
    expect(own).toBeDefined();
    expect((await engine.request('DELETE', `/v1/api-keys/${own!.id}`, { key: first })).status).toBe(204);
    // Every API process forgets the key within a second (LISTEN/NOTIFY).
    await waitUntil(async () => (await engine.request('GET', '/v1/users/alice', { key: first })).status === 401, 10_000, 'the revoked key refused');

    // The next start prints another key, which works, and keeps printing it.
    const second = (await seed()).apiKey;
    expect(second).not.toBe(first);
    expect((await engine.request('GET', '/v1/users/alice', { key: second })).status).toBe(200);
    expect((await seed()).apiKey).toBe(second);
  });
});
