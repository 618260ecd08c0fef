import { redactAddresses } from '../failures/redact.js';

// Bounce classification: hard/soft plus a class, from the DSN status, the SMTP reply and the
// diagnostic text. Phrases re-derived from the classes KumoMTA and ZoneMTA use (see the
// deliverability anchors); sender-side signals are checked first because they often come
// with a plain 5.7.1 or 5.0.0 status.

export const bounceClasses = [
  'unknown_user',
  'bad_domain',
  'mailbox_disabled',
  'mailbox_full',
  'message_too_large',
  'blocklisted',
  'spam_block',
  'auth_failed',
  'rate_limited',
  'policy',
  'transient',
  'other',
] as const;
export type BounceClass = (typeof bounceClasses)[number];

export interface BounceVerdict {
  type: 'hard' | 'soft';
  class: BounceClass;
}

const senderSide: [BounceClass, RegExp][] = [
  [
    'blocklisted',
    /block ?list|black ?list|spamhaus|spamcop|barracuda|\bs?[rd]bl\b|dnsbl|listed (?:at|on|in|by)|\[BL\d*\]|poor reputation|reputation/i,
  ],
  [
    'spam_block',
    /spam|junk|unsolicited|bulk mail|content (?:rejected|blocked)|message (?:looks|was|is) (?:suspicious|considered)|detected that this message/i,
  ],
  ['auth_failed', /dmarc|dkim|\bspf\b|authenticat|5\.7\.2[3-7]\b/i],
  ['rate_limited', /rate limit|too many (?:messages|connections|recipients)|throttl|unusual rate|\bRL\d{3,}|\[TSS?0[1-5]\]/i],
];

const recipientSide: [BounceClass, RegExp][] = [
  ['mailbox_full', /mailbox (?:is )?full|over ?quota|quota exceeded|exceeded (?:storage|quota)|insufficient (?:storage|space)/i],
  ['message_too_large', /too (?:large|big)|size limit|message size/i],
  ['mailbox_disabled', /disabled|deactivated|inactive|account (?:has been )?suspended|mailbox (?:is )?locked/i],
  [
    'unknown_user',
    /user unknown|unknown (?:user|recipient)|no such (?:user|mailbox|recipient|address)|does not exist|doesn't exist|not (?:a )?valid (?:recipient|mailbox)|invalid (?:recipient|mailbox|address)|mailbox (?:not found|unavailable)|no mailbox|recipient not found|address rejected|unrouteable address|user not found/i,
  ],
  [
    'bad_domain',
    /host (?:or domain name )?not found|domain (?:not found|does not exist)|no mx|name or service not known|unrouteable domain|nxdomain/i,
  ],
];

const byStatus: [RegExp, BounceClass][] = [
  [/^\d\.1\.(?:1|3|6)$/, 'unknown_user'],
  [/^\d\.1\.(?:2|10)$/, 'bad_domain'],
  [/^\d\.2\.1$/, 'mailbox_disabled'],
  [/^\d\.2\.2$/, 'mailbox_full'],
  [/^\d\.(?:2\.3|3\.4)$/, 'message_too_large'],
  [/^\d\.7\.2[3-7]$/, 'auth_failed'],
  [/^\d\.7\.\d+$/, 'policy'],
  [/^4\.\d+\.\d+$/, 'transient'],
];

/** Classes where the recipient address itself is undeliverable: a hard bounce of these suppresses it. */
export const recipientClasses: ReadonlySet<BounceClass> = new Set(['unknown_user', 'bad_domain', 'mailbox_disabled', 'other']);

/** Classes that do not end deliverability for good even when reported with a 5xx code. */
const alwaysSoft: ReadonlySet<BounceClass> = new Set(['mailbox_full', 'rate_limited', 'transient']);

export function classifyBounce(input: {
  status?: string | null;
  smtpCode?: number | null;
  diagnostic?: string | null;
  action?: string | null;
}): BounceVerdict {
  // Addresses are removed first: a local part like "nospam" must not read as a spam block.
  const text = redactAddresses(input.diagnostic ?? '');
  const status = input.status?.trim() ?? enhancedCodeIn(text) ?? null;
  const smtpCode = input.smtpCode ?? smtpCodeIn(text);

  const cls =
    senderSide.find(([, re]) => re.test(text))?.[0] ??
    (status ? byStatus.slice(0, 6).find(([re]) => re.test(status))?.[1] : undefined) ??
    recipientSide.find(([, re]) => re.test(text))?.[0] ??
    (status ? byStatus.find(([re]) => re.test(status))?.[1] : undefined) ??
    (/policy|not allowed|denied|refused|prohibited/i.test(text) ? 'policy' : undefined) ??
    'other';

  const temporary =
    input.action?.toLowerCase() === 'delayed' || status?.startsWith('4') === true || (smtpCode !== null && smtpCode >= 400 && smtpCode < 500);
  const permanent = status?.startsWith('5') === true || (smtpCode !== null && smtpCode >= 500) || input.action?.toLowerCase() === 'failed';
  const type = temporary || alwaysSoft.has(cls) || !permanent ? 'soft' : 'hard';
  return { type, class: cls };
}

export function enhancedCodeIn(text: string): string | undefined {
  return /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(text)?.[1];
}

export function smtpCodeIn(text: string): number | null {
  const m = /\b([45]\d\d)[ -]/.exec(text);
  return m ? Number(m[1]) : null;
}
