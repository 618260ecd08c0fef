// Parses what arrives at the feedback listener: RFC 3464 delivery status notifications, RFC 5965
// ARF feedback reports, and the common non-standard bounce bodies (qmail, Exim, plain Postfix
// notices). mailparser does the MIME work; the report parts are header-formatted field blocks.
import { simpleParser, type Attachment } from 'mailparser';
import type { DsnRecipient, OriginalRefs, ParsedReport } from '../domain/feedback/report.js';

/** A report we can't use; the reason is kept with the raw message for inspection. */
export class MalformedReport extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'MalformedReport';
  }
}

const bounceSubject =
  /undeliver|undelivered|delivery (?:status|failure|has failed|notification)|returned mail|failure notice|mail delivery failed|could not be delivered|non[- ]?delivery/i;

export async function parseReport(raw: string, envelope: { mailFrom: string } = { mailFrom: '' }): Promise<ParsedReport> {
  let mail;
  try {
    mail = await simpleParser(raw, { keepDeliveryStatus: true });
  } catch (err) {
    throw new MalformedReport(`unparseable MIME: ${(err as Error).message}`);
  }
  const contentType = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | string | undefined;
  const type = typeof contentType === 'string' ? contentType : (contentType?.value ?? 'text/plain');
  const params = typeof contentType === 'object' ? (contentType.params ?? {}) : {};

  if (type.toLowerCase() === 'multipart/report') {
    const boundary = params.boundary;
    if (!boundary || !raw.includes(`--${boundary}--`)) throw new MalformedReport('truncated MIME: the multipart/report has no closing boundary');
    const reportType = (params['report-type'] ?? '').toLowerCase();
    const original = originalRefs(mail.attachments, raw);
    if (reportType === 'delivery-status') return { kind: 'dsn', recipients: dsnRecipients(mail.attachments), original };
    if (reportType === 'feedback-report') {
      const fields = feedbackFields(mail.attachments);
      const recipient = fields.recipient ?? original.to;
      return { kind: 'arf', ...fields, ...(recipient ? { recipient } : {}), original };
    }
    throw new MalformedReport(`unknown report type: ${reportType || '(none)'}`);
  }

  // Non-standard bounces: sent from the null sender or a mailer daemon, with a bounce-like subject.
  const fromDaemon = envelope.mailFrom === '' || /mailer-daemon|postmaster/i.test(mail.from?.text ?? '');
  const body = mail.text ?? '';
  if (fromDaemon && (bounceSubject.test(mail.subject ?? '') || /permanent(?:ly)? (?:error|fatal)|could not be delivered/i.test(body))) {
    const diagnostic = diagnosticLine(body);
    if (!diagnostic) throw new MalformedReport('bounce without an SMTP reply or status code');
    return { kind: 'plain-bounce', diagnostic, original: originalRefs(mail.attachments, raw) };
  }
  throw new MalformedReport(`unknown report type: ${type} is neither a DSN nor an ARF report`);
}

/** Field blocks ("Name: value", folded lines joined) separated by blank lines; names lower-cased. */
export function fieldBlocks(text: string): Record<string, string>[] {
  const blocks: Record<string, string>[] = [];
  let current: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (Object.keys(current).length) blocks.push(current);
      current = {};
      last = undefined;
    } else if (/^[ \t]/.test(line) && last) {
      current[last] = `${current[last] ?? ''} ${line.trim()}`;
    } else {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      last = line.slice(0, i).trim().toLowerCase();
      current[last] ??= line.slice(i + 1).trim();
    }
  }
  if (Object.keys(current).length) blocks.push(current);
  return blocks;
}

const withoutType = (v: string | undefined) => v?.replace(/^[a-z0-9-]+;\s*/i, '').trim();

function dsnRecipients(parts: Attachment[]): DsnRecipient[] {
  const part = parts.find((a) => /^message\/(global-)?delivery-status$/i.test(a.contentType));
  if (!part) throw new MalformedReport('truncated MIME: no message/delivery-status part');
  const [, ...perRecipient] = fieldBlocks(part.content.toString('utf8'));
  const recipients = perRecipient
    .filter((b) => b.action && b.status)
    .map((b) => ({
      finalRecipient: withoutType(b['final-recipient'] ?? b['original-recipient']),
      action: b.action!.toLowerCase(),
      status: b.status!.split(/\s/)[0],
      diagnostic: withoutType(b['diagnostic-code']),
      remoteMta: withoutType(b['remote-mta']),
    }));
  if (recipients.length === 0) throw new MalformedReport('delivery-status part has no recipient with Action and Status');
  return recipients;
}

function feedbackFields(parts: Attachment[]): { feedbackType: string; sourceIp?: string; arrivalDate?: string; recipient?: string } {
  const part = parts.find((a) => a.contentType.toLowerCase() === 'message/feedback-report');
  if (!part) throw new MalformedReport('truncated MIME: no message/feedback-report part');
  const [fields = {}] = fieldBlocks(part.content.toString('utf8'));
  if (!fields['feedback-type']) throw new MalformedReport('feedback report without Feedback-Type');
  const recipient = withoutType(fields['original-rcpt-to'])?.replace(/^<|>$/g, '');
  return {
    feedbackType: fields['feedback-type'].toLowerCase(),
    sourceIp: fields['source-ip'],
    arrivalDate: fields['arrival-date'] ?? fields['received-date'],
    ...(recipient ? { recipient } : {}),
  };
}

/** The ids we put on every message, read back from the returned original (full message or headers only). */
function originalRefs(parts: Attachment[], raw: string): OriginalRefs {
  const part = parts.find((a) => /^(message\/(global|rfc822|rfc822-headers)|text\/rfc822-headers)$/i.test(a.contentType));
  if (part) return headerRefs(part.content.toString('utf8'));
  // Inline originals (message/rfc822 shown inline, or quoted in a plain bounce) are merged into
  // the text by mailparser: read them from the raw body, below the report's own headers.
  const bodyStart = raw.search(/\r?\n\r?\n/);
  return bodyStart >= 0 ? headerRefs(raw.slice(bodyStart)) : {};
}

function headerRefs(text: string): OriginalRefs {
  const pick = (name: string) => new RegExp(`^${name}:[ \\t]*(.+)$`, 'im').exec(text)?.[1]?.trim();
  const notificationId = pick('X-Notification-Id');
  const messageId = pick('Message-ID');
  const returnPath = pick('Return-Path')?.replace(/^<|>$/g, '');
  // Split, not a backtracking pattern: the header is whatever the sender wrote, up to the size cap.
  const to = (pick('To') ?? '')
    .split(/[\s,<>"]+/)
    .filter((t) => t.includes('@'))
    .pop();
  return {
    ...(to ? { to } : {}),
    ...(notificationId ? { notificationId } : {}),
    ...(messageId ? { messageId } : {}),
    ...(returnPath ? { returnPath } : {}),
  };
}

/** The first line of a free-form bounce that carries an SMTP reply or an enhanced status code. */
function diagnosticLine(body: string): string | undefined {
  const lines = body.split(/\r?\n/).map((l) => l.trim());
  return lines.find((l) => /\b[45]\d\d[ -]|\(#?[45]\.\d{1,3}\.\d{1,3}\)|\b[45]\.\d{1,3}\.\d{1,3}\b/.test(l));
}
