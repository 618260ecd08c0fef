import { createHook } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

// Making a DKIM key (RSA 2048, ~150 ms of prime search) must not stall the API's event loop, and a
// domain that is already taken must cost none. Node reports every key generation to async_hooks as
// a KEYPAIRGENREQUEST; one run on the threadpool then calls back into the event loop (`before`),
// one run synchronously (generateKeyPairSync) never does.

let engine: TestEngine;
const generated = new Set<number>();
const calledBack = new Set<number>();
const hook = createHook({
  init(id, type) {
    if (type === 'KEYPAIRGENREQUEST') generated.add(id);
  },
  before(id) {
    if (generated.has(id)) calledBack.add(id);
  },
});

beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true });
  hook.enable();
});
afterAll(async () => {
  hook.disable();
  await engine?.stop();
});

/** Key generations during `fn`, and how many of them ran off the event loop. */
async function keysMadeBy(fn: () => Promise<Response>) {
  generated.clear();
  calledBack.clear();
  const res = await fn();
  return { res, keys: generated.size, offLoop: calledBack.size };
}

const domain = `keygen-${Date.now().toString(36)}.example`;

describe('a sending domain', () => {
  it('is added with one DKIM key generated off the event loop', async () => {
    const { res, keys, offLoop } = await keysMadeBy(() => engine.request('POST', '/v1/sending-domains', { body: { domain } }));
    expect(res.status, await res.clone().text()).toBe(201);
    expect(keys).toBe(1);
    expect(offLoop).toBe(1);
  });

  it('already taken is refused with 409 before any key is generated, for the same tenant and another', async () => {
    const same = await keysMadeBy(() => engine.request('POST', '/v1/sending-domains', { body: { domain: domain.toUpperCase() } }));
    expect(same.res.status).toBe(409);
    expect(((await same.res.json()) as { detail: string }).detail).toContain('already a sending domain');
    expect(same.keys).toBe(0);
    const other = await engine.addTenant();
    const theirs = await keysMadeBy(() => engine.request('POST', '/v1/sending-domains', { body: { domain }, key: other.apiKey }));
    expect(theirs.res.status).toBe(409);
    expect(theirs.keys).toBe(0);
  });

  it('rotates its DKIM key with one generated off the event loop', async () => {
    const { res, keys, offLoop } = await keysMadeBy(() => engine.request('POST', `/v1/sending-domains/${domain}/rotate-dkim`));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { rotation: { pendingSelector: string } }).rotation.pendingSelector).toBe('nf2');
    expect(keys).toBe(1);
    expect(offLoop).toBe(1);
    // A second rotation while one waits for its record is refused, again without a key.
    const again = await keysMadeBy(() => engine.request('POST', `/v1/sending-domains/${domain}/rotate-dkim`));
    expect(again.res.status).toBe(409);
    expect(again.keys).toBe(0);
  });
});
