// Real sockets end to end: firebase-admin send() -> HTTPS (pinned test CA) -> startFcmEndpoint.
import { deleteApp } from 'firebase-admin/app';
import type { Messaging } from 'firebase-admin/messaging';
import { afterEach, describe, expect, it } from 'vitest';
import { createMessaging, sendToDevice } from '../domain/push/fcm-client.js';
import { startFcmEndpoint, type FcmEndpoint, type FcmEndpointOptions } from '../dev/fcm-endpoint.js';

const PROJECT = 'notiflow-test';

describe('wire: FCM', () => {
  let endpoint: FcmEndpoint | undefined;
  let messaging: Messaging | undefined;

  async function setup(opts: FcmEndpointOptions = {}, accessToken = 'test-access-token') {
    endpoint = await startFcmEndpoint(opts);
    messaging = createMessaging({ projectId: PROJECT, endpoint: { host: endpoint.host, port: endpoint.port, caPem: endpoint.caPem, accessToken } });
    return { endpoint, messaging };
  }

  afterEach(async () => {
    if (messaging) await deleteApp(messaging.app);
    await endpoint?.close();
    messaging = endpoint = undefined;
  });

  it('delivers a push through firebase-admin to the local endpoint', async () => {
    const { endpoint, messaging } = await setup();
    const outcome = await sendToDevice(messaging, {
      token: 'device-1',
      title: 'New sign-in',
      body: 'A new device signed in.',
      data: { notificationId: 'n-1' },
    });

    expect(outcome).toMatchObject({ ok: true, messageId: expect.stringMatching(new RegExp(`^projects/${PROJECT}/messages/`)) });
    const [push] = await endpoint.waitFor(1);
    expect(push).toMatchObject({
      projectId: PROJECT,
      token: 'device-1',
      title: 'New sign-in',
      body: 'A new device signed in.',
      data: { notificationId: 'n-1' },
    });
  });

  it('maps UNREGISTERED to permanent + tokenInvalid (default token-prefix behaviour)', async () => {
    const { messaging } = await setup();
    const outcome = await sendToDevice(messaging, { token: 'unregistered-abc', title: 't', body: 'b' });
    expect(outcome).toMatchObject({ ok: false, kind: 'permanent', code: 'messaging/registration-token-not-registered', tokenInvalid: true });
  });

  it('maps an invalid token (INVALID_ARGUMENT) to permanent + tokenInvalid', async () => {
    const { messaging } = await setup();
    const outcome = await sendToDevice(messaging, { token: 'invalid-abc', title: 't', body: 'b' });
    expect(outcome).toMatchObject({ ok: false, kind: 'permanent', code: 'messaging/invalid-argument', tokenInvalid: true });
  });

  it('maps QUOTA_EXCEEDED to transient with the Retry-After delay', async () => {
    const { messaging } = await setup({ onSend: () => 'QUOTA_EXCEEDED', retryAfterSeconds: 42 });
    const outcome = await sendToDevice(messaging, { token: 'device-1', title: 't', body: 'b' });
    expect(outcome).toMatchObject({
      ok: false,
      kind: 'transient',
      code: 'messaging/message-rate-exceeded',
      retryAfterMs: 42_000,
      tokenInvalid: false,
    });
  });

  it('UNAVAILABLE is retried inside firebase-admin first, then surfaces as transient', async () => {
    // firebase-admin retries 503 itself (4 retries, backoff 0s, 1s, 2s, 4s): a short outage never reaches us
    const calls: string[] = [];
    const { endpoint, messaging } = await setup({
      onSend: ({ token, attempt }) => (calls.push(token), token === 'down' || attempt <= 2 ? 'UNAVAILABLE' : undefined),
    });
    expect(await sendToDevice(messaging, { token: 'flaky', title: 't', body: 'b' })).toMatchObject({ ok: true });
    expect(endpoint.received).toHaveLength(1);

    const outcome = await sendToDevice(messaging, { token: 'down', title: 't', body: 'b' });
    expect(outcome).toMatchObject({ ok: false, kind: 'transient', code: 'messaging/server-unavailable', tokenInvalid: false });
    expect(calls.filter((t) => t === 'down')).toHaveLength(5);
  }, 20_000);

  it('a wrong bearer token is rejected with 401 and is not retried as transient', async () => {
    const { endpoint, messaging } = await setup({}, 'stale-token');
    const outcome = await sendToDevice(messaging, { token: 'device-1', title: 't', body: 'b' });
    expect(outcome).toMatchObject({ ok: false, kind: 'permanent', tokenInvalid: false });
    expect(endpoint.received).toHaveLength(0);
  });

  it('a vanished endpoint is a transient network failure', async () => {
    const { endpoint, messaging } = await setup();
    await endpoint.close();
    const outcome = await sendToDevice(messaging, { token: 'device-1', title: 't', body: 'b' });
    expect(outcome).toMatchObject({ ok: false, kind: 'transient', code: 'app/network-error', tokenInvalid: false });
  });
});
