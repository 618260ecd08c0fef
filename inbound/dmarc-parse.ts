// Reads a DMARC aggregate report: RFC 7489 appendix C (namespace dmarc.org/dmarc-xml/0.1, often
// none) and RFC 9990 (urn:ietf:params:xml:ns:dmarc-2.0). Namespace prefixes are dropped before
// reading, so no namespace silently loses records. Enumerations are kept as text, lower-cased:
// reporters send values outside the schema, and a report is refused only for what we need.
import { isIP } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import { DmarcRefused } from './dmarc-unpack.js';

export interface DmarcRow {
  sourceIp: string;
  count: number;
  disposition: string;
  dkim: string;
  spf: string;
  reasons: string[];
  headerFrom: string;
  envelopeFrom: string | null;
  dkimResults: { domain: string; selector: string | null; result: string }[];
  spfResults: { domain: string; scope: string | null; result: string }[];
}

export interface DmarcReport {
  format: 'rfc7489' | 'rfc9990';
  orgName: string;
  reportId: string;
  begin: Date;
  end: Date;
  domain: string;
  policy: Record<string, string>;
  rows: DmarcRow[];
}

/** Records per report: a large mailbox provider's daily report for one domain has a few thousand. */
export const maxDmarcRows = 20_000;

const listTags = new Set(['record', 'dkim', 'spf', 'reason', 'error']);
const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  htmlEntities: false,
  // dkim and spf are lists inside auth_results only; in policy_evaluated they are one word.
  isArray: (name, jpath) => listTags.has(name) && !String(jpath).includes('policy_evaluated'),
});

type Node = Record<string, unknown>;
const bad = (what: string): never => {
  throw new DmarcRefused(550, `5.6.0 Malformed DMARC report: ${what}`);
};
const obj = (v: unknown, what: string): Node => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : bad(`no ${what}`));
const text = (v: unknown, what: string, max = 255): string => {
  const s = typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
  if (!s) return bad(`no ${what}`);
  if (s.length > max) return bad(`${what} longer than ${max} characters`);
  return s;
};
const optional = (v: unknown, max = 255): string | null => (typeof v === 'string' && v.trim() ? v.trim().slice(0, max) : null);
const word = (v: unknown, what: string) => text(v, what, 32).toLowerCase();
const domainOf = (v: unknown, what: string) => text(v, what, 253).toLowerCase().replace(/\.$/, '');
const epoch = (v: unknown, what: string): Date => {
  const s = text(v, what, 20);
  if (!/^\d{1,12}$/.test(s)) return bad(`${what} is not a Unix time`);
  return new Date(Number(s) * 1000);
};
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === '' ? [] : [v]);

export function parseDmarcXml(xml: string): DmarcReport {
  // Real reports carry no DTD; one that does is refused before any entity could be expanded.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) bad('a DOCTYPE or ENTITY declaration');
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (err) {
    return bad(`not well-formed XML (${(err as Error).message.slice(0, 200)})`);
  }
  const feedback = obj(doc.feedback, '<feedback> root element');
  const meta = obj(feedback.report_metadata, 'report_metadata');
  const range = obj(meta.date_range, 'date_range');
  const published = obj(feedback.policy_published, 'policy_published');
  const records = list(feedback.record);
  if (records.length === 0) bad('no <record>');
  if (records.length > maxDmarcRows) bad(`more than ${maxDmarcRows} records`);

  const policy: Record<string, string> = {};
  for (const key of ['p', 'sp', 'np', 'adkim', 'aspf', 'pct', 'fo', 'testing', 'discovery_method']) {
    const v = optional(published[key], 32);
    if (v) policy[key] = v.toLowerCase();
  }
  const begin = epoch(range.begin, 'date_range begin');
  const end = epoch(range.end, 'date_range end');
  if (end < begin) bad('date_range ends before it begins');

  const rows = records.map((r, i): DmarcRow => {
    const record = obj(r, `record ${i + 1}`);
    const row = obj(record.row, `row in record ${i + 1}`);
    const evaluated = obj(row.policy_evaluated, `policy_evaluated in record ${i + 1}`);
    const ids = obj(record.identifiers, `identifiers in record ${i + 1}`);
    const auth = record.auth_results && typeof record.auth_results === 'object' ? (record.auth_results as Node) : {};
    const sourceIp = text(row.source_ip, `source_ip in record ${i + 1}`, 45).toLowerCase();
    if (!isIP(sourceIp)) bad(`source_ip in record ${i + 1} is not an IP address`);
    const countText = text(row.count, `count in record ${i + 1}`, 10);
    if (!/^\d+$/.test(countText) || Number(countText) > 2 ** 31 - 1) bad(`count in record ${i + 1} is not a whole number`);
    return {
      sourceIp,
      count: Number(countText),
      disposition: word(evaluated.disposition, `disposition in record ${i + 1}`),
      dkim: word(evaluated.dkim, `policy_evaluated dkim in record ${i + 1}`),
      spf: word(evaluated.spf, `policy_evaluated spf in record ${i + 1}`),
      reasons: list(evaluated.reason)
        .map((x) => optional((x as Node | undefined)?.type, 32))
        .filter((x): x is string => !!x)
        .map((x) => x.toLowerCase()),
      headerFrom: domainOf(ids.header_from, `header_from in record ${i + 1}`),
      envelopeFrom: optional(ids.envelope_from, 253)?.toLowerCase() ?? null,
      dkimResults: list(auth.dkim).map((x) => {
        const d = obj(x, `auth_results dkim in record ${i + 1}`);
        return { domain: domainOf(d.domain, 'dkim domain'), selector: optional(d.selector, 63), result: word(d.result, 'dkim result') };
      }),
      spfResults: list(auth.spf).map((x) => {
        const s = obj(x, `auth_results spf in record ${i + 1}`);
        return { domain: domainOf(s.domain, 'spf domain'), scope: optional(s.scope, 16), result: word(s.result, 'spf result') };
      }),
    };
  });
  return {
    // RFC 7489 reports may carry <version> too; the namespace and RFC 9990's new policy fields tell them apart.
    format: /urn:ietf:params:xml:ns:dmarc-2\.0/.test(xml.slice(0, 4096)) || policy.discovery_method || policy.testing ? 'rfc9990' : 'rfc7489',
    orgName: text(meta.org_name, 'org_name'),
    reportId: text(meta.report_id, 'report_id'),
    begin,
    end,
    domain: domainOf(published.domain, 'policy_published domain'),
    policy,
    rows,
  };
}
