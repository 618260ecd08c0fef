// Send slots on a shared pool: bulk mail leaves one connection of each IP to mandatory alerts
// (domain/pool/headroom.ts), so a burst holding every slot it may take never makes a security
// alert wait for it. Real routing code against Postgres; the reservations stay open (no send).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDeliveryDeps } from '../domain/pool/delivery-deps.js';
import { Refusal } from '../domain/failures/refusal.js';
import { chooseRoute, type DeliveryDeps } from '../domain/pool/route.js';
import { providerRules } from '../domain/pool/rules.js';
import { connectDatabase, type Database } from '../db/client.js';
import { upsertPool } from '../db/provision.js';

const rules = providerRules({
  version: 1,
  defaults: { connectionsPerIp: 4, messagesPerConnection: 100, messageRate: '10000/s' },
  reputation: { halfLifeMinutes: 360, windowHours: 48, priorGood: 5, norm: 60, quarantineBelow: 20, minEvents: 5 },
  warmup: { dailyCaps: [3, 6] },
  providers: [],
});

let database: Database;
let delivery: DeliveryDeps;
const poolId = `headroom-${randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  database = connectDatabase(inject('databaseUrl'));
  delivery = createDeliveryDeps({ rules, random: () => 0.5 });
  // A relay pool: the provider is known by domain, no MX lookup.
  await upsertPool(database.db, {
    id: poolId,
    name: 'shared',
    kind: 'shared',
    relayHost: '127.0.0.1',
    relayPort: 2525,
    ips: [{ id: `${poolId}-ip1`, localAddress: '127.0.0.1', ehloName: 'mta.shared.test' }],
  });
});
afterAll(async () => database?.close());

const route = (tenantId: string, mandatory: boolean) =>
  chooseRoute(database.db, delivery, { tenantId, poolId, recipientDomain: 'example.com', mandatory });

describe('send slots on a shared pool', () => {
  it("leaves one of an IP's connections to mandatory mail: tenant B's alert gets it while tenant A's bulk holds the rest", async () => {
    for (let i = 0; i < 3; i++) expect((await route('tenant-a', false)).ipId).toBe(`${poolId}-ip1`);
    const refused = await route('tenant-a', false).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(Refusal);
    expect((refused as Refusal).type).toBe('NoIpAvailable');
    expect((await route('tenant-b', true)).ipId).toBe(`${poolId}-ip1`);
    // And the IP's limit still holds for mandatory mail too.
    expect(((await route('tenant-b', true).catch((err: unknown) => err)) as Refusal).type).toBe('NoIpAvailable');
  });
});
