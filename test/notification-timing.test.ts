import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { auditSteps, getNotification, putUser, settled, transactionData } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
});
afterAll(async () => engine?.stop());

const post = (
  userId: string,
  key: string,
  extra: Record<string, unknown> = {},
  type = 'account.transaction',
  data: Record<string, unknown> = transactionData,
) => engine.request('POST', '/v1/notifications', { headers: { 'idempotency-key': key }, body: { userId, type, data, ...extra } });
const mailsOf = (id: string) => engine.inbox.messages.filter((m) => m.headers['x-notification-id'] === id);
const view = async (id: string) => (await getNotification(engine, id)) as Awaited<ReturnType<typeof getNotification>> & { sendAt: string | null };
/** "HH:MM" in a timezone, `offsetMinutes` from now. */
const localTime = (timeZone: string, offsetMinutes: number) =>
  new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    new Date(Date.now() + offsetMinutes * 60_000),
  );

describe('sendAt', () => {
  it('holds the notification as scheduled, with its send time, and sends it then', async () => {
    await putUser(engine, 'sara', { email: 'sara@example.fr' }, { transactions: ['email'] });
    const sendAt = new Date(Date.now() + 6_000).toISOString();
    const res = await post('sara', 'sara-1', { sendAt });
    expect(res.status).toBe(202);
    const { id, status } = (await res.json()) as { id: string; status: string };
    expect(status).toBe('scheduled');
    const held = await view(id);
    expect(held).toMatchObject({ status: 'scheduled', sendAt });
    const done = await settled(engine, id, 30_000);
    expect(done.status).toBe('delivered');
    expect(Date.parse(mailsOf(id)[0]!.receivedAt)).toBeGreaterThanOrEqual(Date.parse(sendAt));
  });

  it('can be cancelled while scheduled: nothing is sent', async () => {
    await putUser(engine, 'carl', { email: 'carl@example.fr' }, { transactions: ['email'] });
    const res = await post('carl', 'carl-1', { sendAt: new Date(Date.now() + 3_600_000).toISOString() });
    const { id } = (await res.json()) as { id: string };
    await waitUntil(async () => ((await engine.request('GET', `/v1/notifications/${id}`)).status === 200 ? true : undefined), 5_000);
    const cancel = await engine.request('POST', `/v1/notifications/${id}/cancel`);
    expect(cancel.status, await cancel.clone().text()).toBe(200);
    expect(await cancel.json()).toMatchObject({ cancelled: true, status: 'cancelled' });
    expect((await view(id)).status).toBe('cancelled');
    expect(mailsOf(id)).toHaveLength(0);
  });

  it('is refused when malformed or more than 30 days ahead, and nothing is written', async () => {
    await putUser(engine, 'rita', { email: 'rita@example.fr' });
    for (const sendAt of ['tomorrow', '2026-13-01T00:00:00Z', new Date(Date.now() + 31 * 86_400_000).toISOString()]) {
      const res = await post('rita', `rita-${sendAt}`, { sendAt });
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const [row] = await engine.database.sql<
      { n: number }[]
    >`select count(*)::int as n from notifications where tenant_id = ${engine.tenantId} and idempotency_key like 'rita-%'`;
    expect(row!.n).toBe(0);
  });
});

describe('quiet hours', () => {
  it("hold service alerts until the user's window ends, in the user's timezone; mandatory ones go at once", async () => {
    const tz = 'Asia/Tokyo';
    const quietHours = { starts: localTime(tz, -60), ends: localTime(tz, 120) };
    await putUser(engine, 'quinn', { email: 'quinn@example.jp', timezone: tz, quietHours }, { transactions: ['email'] });
    expect(((await (await engine.request('GET', '/v1/users/quinn')).json()) as { quietHours: unknown }).quietHours).toEqual(quietHours);

    const held = ((await (await post('quinn', 'quinn-1')).json()) as { id: string }).id;
    const scheduled = await waitUntil(
      async () => {
        const v = await view(held);
        return v.status === 'scheduled' ? v : undefined;
      },
      15_000,
      'scheduled by quiet hours',
    );
    // The end of the window, about two hours from now.
    const wait = Date.parse(scheduled.sendAt!) - Date.now();
    expect(wait).toBeGreaterThan(118 * 60_000);
    expect(wait).toBeLessThanOrEqual(120 * 60_000);
    expect(await auditSteps(engine, held)).toContain('scheduled');

    const security = (
      (await (
        await post('quinn', 'quinn-2', {}, 'security.new_device', { device: 'Pixel 9', city: 'Osaka', at: '2026-06-01T10:00:00Z' })
      ).json()) as { id: string }
    ).id;
    expect((await settled(engine, security)).status).toBe('delivered');
    expect(mailsOf(held)).toHaveLength(0);

    const cancel = await engine.request('POST', `/v1/notifications/${held}/cancel`);
    expect(cancel.status).toBe(200);
    expect(mailsOf(held)).toHaveLength(0);
  });

  it("use the tenant's default for users without their own, and send when the window ends", { timeout: 180_000 }, async () => {
    // The default window ends at a minute boundary at least 30 s away (UTC user), so a loaded
    // machine still reaches the send before it ends: the alert waits for it, then goes.
    const endsIn = new Date().getUTCSeconds() < 30 ? 1 : 2;
    await engine.database
      .sql`insert into quiet_hours (tenant_id, user_id, starts, ends) values (${engine.tenantId}, null, ${localTime('UTC', -60)}, ${localTime('UTC', endsIn)})`;
    await putUser(engine, 'ugo', { email: 'ugo@example.fr', timezone: 'UTC' }, { transactions: ['email'] });
    const id = ((await (await post('ugo', 'ugo-1')).json()) as { id: string }).id;
    const scheduled = await waitUntil(
      async () => {
        const v = await view(id);
        return v.status === 'scheduled' ? v : undefined;
      },
      15_000,
      'scheduled by the tenant default',
    );
    const done = await settled(engine, id, 150_000);
    expect(done.status).toBe('delivered');
    expect(Date.parse(mailsOf(id)[0]!.receivedAt)).toBeGreaterThanOrEqual(Date.parse(scheduled.sendAt!));
    await engine.database.sql`delete from quiet_hours where tenant_id = ${engine.tenantId} and user_id is null`;
  });
});
