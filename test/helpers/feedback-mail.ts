// Builds real feedback reports (RFC 3464 DSN, RFC 5965 ARF, a qmail-style bounce) and mails them
// over SMTP, as a remote MTA or a mailbox provider's feedback loop would.
import nodemailer from 'nodemailer';

const crlf = (lines: string[]) => lines.join('\r\n');

export function dsnReport(o: {
  to: string;
  recipient: string;
  status: string;
  diagnostic: string;
  action?: string;
  originalHeaders: string;
}): string {
  return crlf([
    'From: Mail Delivery System <MAILER-DAEMON@mx.remote.test>',
    `To: ${o.to}`,
    'Subject: Undelivered Mail Returned to Sender',
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-boundary-1"',
    '',
    '--dsn-boundary-1',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    "I'm sorry to have to inform you that your message could not be delivered.",
    '',
    '--dsn-boundary-1',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.remote.test',
    'Arrival-Date: Mon, 1 Jun 2026 10:00:00 +0200',
    '',
    `Final-Recipient: rfc822; ${o.recipient}`,
    `Original-Recipient: rfc822; ${o.recipient}`,
    `Action: ${o.action ?? 'failed'}`,
    `Status: ${o.status}`,
    'Remote-MTA: dns; mx.remote.test',
    `Diagnostic-Code: smtp; ${o.diagnostic}`,
    '',
    '--dsn-boundary-1',
    'Content-Type: text/rfc822-headers',
    '',
    o.originalHeaders.trim(),
    '',
    '--dsn-boundary-1--',
    '',
  ]);
}

export function arfReport(o: { to: string; sourceIp: string; feedbackType?: string; originalHeaders: string; recipient?: string }): string {
  return crlf([
    'From: Feedback Loop <fbl@isp.remote.test>',
    `To: ${o.to}`,
    'Subject: Complaint about message',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report; boundary="arf-boundary-1"',
    '',
    '--arf-boundary-1',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is an email abuse report for an email message received from IP ' + o.sourceIp,
    '',
    '--arf-boundary-1',
    'Content-Type: message/feedback-report',
    '',
    `Feedback-Type: ${o.feedbackType ?? 'abuse'}`,
    'User-Agent: RemoteFBL/1.0',
    'Version: 1',
    `Source-IP: ${o.sourceIp}`,
    ...(o.recipient ? [`Original-Rcpt-To: ${o.recipient}`] : []),
    'Arrival-Date: Mon, 1 Jun 2026 10:00:00 +0200',
    '',
    '--arf-boundary-1',
    'Content-Type: message/rfc822',
    'Content-Disposition: inline',
    '',
    o.originalHeaders.trim(),
    '',
    '(message body redacted)',
    '',
    '--arf-boundary-1--',
    '',
  ]);
}

/** A qmail-style bounce: no MIME report, just text with the reply. */
export function qmailBounce(o: { to: string; recipient: string; originalHeaders: string }): string {
  return crlf([
    'From: MAILER-DAEMON@mx.remote.test',
    `To: ${o.to}`,
    'Subject: failure notice',
    '',
    'Hi. This is the qmail-send program at mx.remote.test.',
    "I'm afraid I wasn't able to deliver your message to the following addresses.",
    "This is a permanent error; I've given up. Sorry it didn't work out.",
    '',
    `<${o.recipient}>:`,
    'Sorry, no mailbox here by that name. (#5.1.1)',
    '',
    '--- Below this line is a copy of the message.',
    '',
    o.originalHeaders.trim(),
    '',
  ]);
}

/** The original message's headers as a report quotes them (everything above the first blank line). */
export function headersOf(raw: string): string {
  return raw.split(/\r?\n\r?\n/)[0]!;
}

/** Mails a raw report to the listener; `from` '' is the null sender bounces use. */
export async function mailReport(listener: { host: string; port: number }, raw: string, envelope: { from?: string; to: string }): Promise<string> {
  const transport = nodemailer.createTransport({ host: listener.host, port: listener.port, secure: false, ignoreTLS: true });
  try {
    const info = await transport.sendMail({ envelope: { from: envelope.from ?? '', to: [envelope.to] }, raw });
    return info.response;
  } finally {
    transport.close();
  }
}
