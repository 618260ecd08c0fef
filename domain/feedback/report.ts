// What a bounce or complaint report says, however it arrived: parsed from mail by the inbound
// listener (inbound/parse-report.ts) or posted as JSON by a provider (api/provider-feedback.ts).

export interface OriginalRefs {
  notificationId?: string;
  /** The original's To address (complaints name the recipient here when Original-Rcpt-To is absent). */
  to?: string;
  messageId?: string;
  returnPath?: string;
}

export interface DsnRecipient {
  finalRecipient?: string;
  action?: string;
  status?: string;
  diagnostic?: string;
  remoteMta?: string;
}

export type ParsedReport =
  | { kind: 'dsn'; recipients: DsnRecipient[]; original: OriginalRefs }
  | { kind: 'arf'; feedbackType: string; sourceIp?: string; arrivalDate?: string; recipient?: string; original: OriginalRefs }
  | { kind: 'plain-bounce'; diagnostic: string; original: OriginalRefs };
