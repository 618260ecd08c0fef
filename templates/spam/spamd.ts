import { connect } from 'node:net';

/**
 * SpamAssassin's verdict through spamd's own protocol (SPAMC/1.5, the SYMBOLS command). Spoken
 * directly: the only npm client (`spamc` 0.0.5) has had no release in a decade.
 */
export interface SpamdVerdict {
  score: number;
  threshold: number;
  rules: string[];
}

export function spamdCheck(host: string, port: number, message: string, timeoutMs = 10_000): Promise<SpamdVerdict> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(message.replace(/\r?\n/g, '\r\n'), 'utf8');
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`spamd at ${host}:${port} did not answer in ${timeoutMs} ms`)));
    socket.on('connect', () => {
      socket.write(`SYMBOLS SPAMC/1.5\r\nContent-length: ${body.length}\r\n\r\n`);
      socket.end(body);
    });
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const reply = Buffer.concat(chunks).toString('utf8');
      const status = /^SPAMD\/[\d.]+ (\d+) (.*)$/m.exec(reply);
      if (!status || status[1] !== '0') return reject(new Error(`spamd refused the check: ${status?.[2] ?? 'no reply'}`));
      const spam = /^Spam: \w+ ; (-?[\d.]+) \/ (-?[\d.]+)/m.exec(reply);
      if (!spam) return reject(new Error('spamd reply has no Spam header'));
      const [, rest = ''] = reply.split(/\r?\n\r?\n/, 2);
      resolve({
        score: Number(spam[1]),
        threshold: Number(spam[2]),
        rules: rest
          .trim()
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean),
      });
    });
  });
}

/** A minimal RFC 5322 message for spamd to score: the subject and both parts. */
export function messageForSpamd(subject: string, html: string, text: string): string {
  const boundary = 'nf-spam-check';
  return [
    'From: check@notiflow.invalid',
    'To: check@notiflow.invalid',
    `Subject: ${subject.replace(/[\r\n]+/g, ' ')}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    text,
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    '',
    html,
    `--${boundary}--`,
    '',
  ].join('\n');
}
