// What the listener does with each message it accepts: parse it (this folder), check who sent a
// complaint (this folder), then link and record it (domain/feedback/record-report.ts).
import { keepRejected, linkReport, recipientsOf, recordReport, type FeedbackDeps, type ReportResult } from '../domain/feedback/record-report.js';
import type { ParsedReport } from '../domain/feedback/report.js';
import { feedbackSourceCheck, type FeedbackLoops, type TxtResolver } from './feedback-sources.js';
import { MalformedReport, parseReport } from './parse-report.js';

import type { DmarcSettings } from './dmarc-record.js';

export interface ListenerDeps extends FeedbackDeps {
  /** The feedback loops whose complaints are believed; none: every mailed complaint is rejected. */
  loops?: FeedbackLoops;
  /** DNS for the reporters' DKIM keys (the system's when absent). */
  resolver?: TxtResolver;
  /** Caps and alarm threshold for DMARC aggregate reports (defaults when absent). */
  dmarc?: DmarcSettings;
}

/** Everything that arrives at the listener goes through here. */
export async function handleRawReport(
  deps: ListenerDeps,
  raw: string,
  envelope: { mailFrom: string; rcptTo: string[]; remoteAddress?: string; source?: string },
): Promise<ReportResult> {
  const source = envelope.source ?? 'smtp';
  let report: ParsedReport | undefined;
  const reject = (reason: string, tenantId?: string) =>
    keepRejected(deps, { source, reason, raw, remoteAddress: envelope.remoteAddress, tenantId, recipients: report ? recipientsOf(report) : [] });
  try {
    report = await parseReport(raw, envelope);
  } catch (err) {
    if (err instanceof MalformedReport) return reject(err.reason);
    throw err;
  }
  const link = linkReport(deps.secrets, report, envelope.rcptTo);
  if ('reason' in link) return reject(link.reason);
  // Bounces prove themselves by the signed return path; complaints by who sent them.
  if (report.kind === 'arf') {
    const verdict = await sourceCheckOf(deps)(raw, envelope.remoteAddress);
    if (!verdict.trusted) return reject(verdict.reason);
  }
  return recordReport(deps, report, link, { source: report.kind === 'arf' ? 'arf' : 'dsn', reject });
}

const sourceChecks = new WeakMap<ListenerDeps, ReturnType<typeof feedbackSourceCheck>>();
function sourceCheckOf(deps: ListenerDeps) {
  let check = sourceChecks.get(deps);
  if (!check) sourceChecks.set(deps, (check = feedbackSourceCheck(deps.loops ?? { domains: [], ips: [] }, deps.resolver)));
  return check;
}
