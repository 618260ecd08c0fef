import { expect } from 'vitest';
import type { TestEngine } from './engine.js';
import { waitUntil } from './wait.js';

/**
 * Makes `email` a confirmed test recipient the way a tenant does: POST it, read the code from the
 * confirmation message at the SMTP receiver, give it back. Returns the recipient's id and that message.
 */
export async function confirmTestRecipient(engine: TestEngine, email: string, key?: string) {
  const added = await engine.request('POST', '/v1/test-recipients', { body: { email }, key });
  const addedText = await added.text();
  expect(added.status, addedText).toBe(201);
  const { id } = JSON.parse(addedText) as { id: string };
  const mail = await waitUntil(
    async () => engine.inbox.messages.find((m) => m.rcptTo.includes(email) && m.headers['x-notiflow-test'] === 'recipient confirmation'),
    60_000,
    'the confirmation message',
  );
  const code = /code: (\d{8})/.exec(mail.text)![1]!;
  const confirmed = await engine.request('POST', `/v1/test-recipients/${id}/confirm`, { body: { code }, key });
  expect(confirmed.status, await confirmed.clone().text()).toBe(200);
  return { id, mail, code };
}
