import type { Channel, NotificationStatus } from './types.js';

// What the Temporal UI shows for each workflow and step: its summary, its details and, while it
// runs, what it is waiting for. Built from ids, type, category, channel, IP and provider only:
// never an address, a push token or the event's data (they pass through the payload codec, but
// an operator reading the UI needs none of them).

export function notificationSummary(n: { type: string; category: string }): string {
  return `${n.type} (${n.category})`;
}

export function notificationDetails(n: { type: string; category: string; tenantId: string; notificationId: string; sendAt?: string }): string {
  return [
    `**type** ${n.type}`,
    `**category** ${n.category}`,
    `**tenant** ${n.tenantId}`,
    `**notification** ${n.notificationId}`,
    ...(n.sendAt ? [`**send at** ${n.sendAt}`] : []),
  ].join('\n');
}

export function digestSummary(n: { type: string; category: string }): string {
  return `digest: ${n.type} (${n.category})`;
}

/** What an open digest shows in the Temporal UI: its pending item count and when it closes. */
export function digestDetails(pending: number, closesAt?: string, maxItems?: number, sent?: number): string {
  return [
    `**pending items** ${pending}${maxItems ? ` (sends early at ${maxItems})` : ''}`,
    ...(closesAt ? [`**closes at** ${closesAt}`] : []),
    ...(sent !== undefined ? [`**sent** ${sent ? `a digest of ${sent}` : 'nothing (empty window)'}`] : []),
  ].join('\n');
}

export function testSendSummary(t: { purpose?: string | null; typeKey?: string | null; version?: number | null }): string {
  return t.purpose === 'template' && t.typeKey ? `test send: ${t.typeKey} v${t.version ?? '?'}` : 'test recipient confirmation';
}

export function statusWebhookSummary(outcome: string): string {
  return `status webhook: ${outcome}`;
}

/** hh:mm UTC of an epoch time, as the UI shows it next to its own UTC clock. */
function clock(at: number): string {
  return `${new Date(at).toISOString().slice(11, 16)} UTC`;
}

export function waitingForQuietHours(until: number, localEnd?: string): string {
  return `waiting for quiet hours until ${localEnd ? `${localEnd} (user's time), ` : ''}${clock(until)}`;
}

export function waitingForSendAt(until: number): string {
  return `scheduled: waiting until ${new Date(until).toISOString()}`;
}

export function waitingForIp(until: number, provider?: string): string {
  return `waiting for an IP that may send to ${provider ?? 'this provider'} (next opening ${clock(until)})`;
}

/** One channel's send as the details show it: the IP and provider of an e-mail, the template version. */
export interface SentVia {
  channel: Channel;
  outcome: string;
  sourceIp?: string;
  provider?: string;
  templateVersion?: number;
}

export function sentLine(s: SentVia): string {
  const parts = [`${s.channel}: ${s.outcome}`];
  if (s.sourceIp) parts.push(`IP ${s.sourceIp}`);
  if (s.provider) parts.push(`provider ${s.provider}`);
  if (s.templateVersion !== undefined) parts.push(`template v${s.templateVersion}`);
  return parts.join(', ');
}

/** The outcome and each channel's send (failure reasons stay in the result: the UI line is for a glance). */
export function finalDetails(status: NotificationStatus, sends: readonly SentVia[]): string {
  return [`**outcome** ${status}`, ...sends.map(sentLine)].join('\n');
}
