import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliveryDeps } from '../domain/pool/delivery-deps.js';
import { createDnsResolver, createMxLookup, NullMxError } from '../domain/pool/mx-lookup.js';
import { classifyProvider } from '../domain/pool/providers.js';
import { defaultRulesPath, limitsFor, loadProviderRules, RulesFileError } from '../domain/pool/rules.js';
import { startDnsServer, type DnsServer } from '../dev/dns-server.js';

const repoText = readFileSync(defaultRulesPath, 'utf8');

function refusal(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'rules-')), 'provider-rules.json');
  writeFileSync(path, text);
  try {
    createDeliveryDeps({ rulesPath: path });
  } catch (err) {
    expect(err).toBeInstanceOf(RulesFileError);
    return (err as Error).message;
  }
  throw new Error('the malformed file was accepted');
}

const lineOf = (needle: string) => repoText.slice(0, repoText.indexOf(needle)).split('\n').length;

describe('the provider rules file', () => {
  it('in the repo is valid and carries the published limits', () => {
    const rules = loadProviderRules();
    expect(limitsFor(rules, 'gmail')).toMatchObject({ connectionsPerIp: 5, messagesPerConnection: 50 });
    expect(limitsFor(rules, 'orange')).toMatchObject({ connectionsPerIp: 2, messagesPerConnection: 100 });
    expect(limitsFor(rules, 'gmx-webde')).toMatchObject({ connectionsPerIp: 4, messagesPerConnection: 20 });
    expect(limitsFor(rules, 'other')).toEqual(limitsFor(rules, 'no-such-provider'));
    expect(rules.providers.find((p) => p.name === 'yahoo')!.responses.find((r) => r.id === 'yahoo-ts04')).toMatchObject({
      trigger: 'immediate',
      action: 'suspend',
      duration: 2 * 3_600_000,
    });
  });

  it('is refused at start when malformed, naming the line and the field', () => {
    const negative = repoText.replace('"connectionsPerIp": 2, "messagesPerConnection": 100', '"connectionsPerIp": -2, "messagesPerConnection": 100');
    expect(refusal(negative)).toContain(
      `provider-rules.json:${lineOf('"connectionsPerIp": 2, "messagesPerConnection": 100')}: providers[5].limits.connectionsPerIp:`,
    );

    const badAction = repoText.replace(
      '"trigger": "immediate", "action": "suspend", "duration": "2h"',
      '"trigger": "immediate", "action": "explode", "duration": "2h"',
    );
    expect(refusal(badAction)).toMatch(
      new RegExp(`provider-rules\\.json:${lineOf('"id": "yahoo-ts04"')}: providers\\[3\\]\\.responses\\[0\\]\\.action: Invalid option`),
    );

    const badRegex = repoText.replace('"regex": "\\\\[TSS?04\\\\]"', '"regex": "[TSS?04"');
    expect(refusal(badRegex)).toContain(`:${lineOf('"id": "yahoo-ts04"')}: providers[3].responses[0].regex: not a valid regular expression`);

    const syntax = repoText.replace('"version": 1,', '"version": 1');
    expect(refusal(syntax)).toContain(`provider-rules.json:${lineOf('"defaults"')}: syntax error`);

    const missing = repoText.replace(
      '"throttleRate": "10/minute", "duration": "30m" },\n        { "id": "gmail-detected"',
      '"duration": "30m" },\n        { "id": "gmail-detected"',
    );
    expect(refusal(missing)).toContain('providers[0].responses[0].throttleRate: a throttle rule needs throttleRate');
  });
});

describe('provider classification', () => {
  let dns: DnsServer;
  beforeAll(async () => {
    dns = await startDnsServer({
      zone: {
        mx: {
          'bank-customer.fr': [
            { exchange: 'aspmx.l.google.com', priority: 1 },
            { exchange: 'alt1.aspmx.l.google.com', priority: 5 },
          ],
          'hotmail.com': [{ exchange: 'hotmail-com.olc.protection.outlook.com', priority: 2 }],
          'contoso.fr': [{ exchange: 'contoso-fr.mail.protection.outlook.com', priority: 0 }],
          'yahoo.fr': [{ exchange: 'mx-eu.mail.am0.yahoodns.net', priority: 1 }],
          'orange.fr': [{ exchange: 'smtp-in.orange.fr', priority: 10 }],
          'small.test': [{ exchange: 'mx.small.test', priority: 10 }],
        },
        a: { 'aspmx.l.google.com': ['127.0.0.80'], 'alt1.aspmx.l.google.com': ['127.0.0.81'], 'mx.small.test': ['127.0.0.82'] },
      },
    });
  });
  afterAll(async () => dns?.close());

  it('follows the MX hosts (a Google-hosted bank domain is Gmail), falls back to the domain, and caches lookups', async () => {
    const rules = loadProviderRules();
    const mx = createMxLookup(createDnsResolver([dns.address]));
    const providerOf = async (domain: string) =>
      classifyProvider(
        rules,
        domain,
        (await mx.lookup(domain)).map((h) => h.exchange),
      );
    expect(await providerOf('bank-customer.fr')).toBe('gmail');
    expect(await providerOf('hotmail.com')).toBe('outlook');
    expect(await providerOf('contoso.fr')).toBe('office365');
    expect(await providerOf('yahoo.fr')).toBe('yahoo');
    expect(await providerOf('orange.fr')).toBe('orange');
    expect(await providerOf('small.test')).toBe('other');
    expect(classifyProvider(rules, 'free.fr', [])).toBe('free');
    expect(classifyProvider(rules, 'web.de', [])).toBe('gmx-webde');

    expect(await mx.lookup('bank-customer.fr')).toEqual([
      { exchange: 'aspmx.l.google.com', priority: 1, addresses: ['127.0.0.80'] },
      { exchange: 'alt1.aspmx.l.google.com', priority: 5, addresses: ['127.0.0.81'] },
    ]);
    expect(dns.queries.filter((q) => q === 'MX bank-customer.fr')).toHaveLength(1);
  });

  it('lists every MX by preference, falls back to the address without MX, refuses a null MX, and caches empty and failed answers for their TTL', async () => {
    Object.assign(dns.zone.mx!, {
      'two-mx.test': [
        { exchange: 'mx2.two-mx.test', priority: 20 },
        { exchange: 'mx0.two-mx.test', priority: 5 },
        { exchange: 'mx1.two-mx.test', priority: 10 },
      ],
      'nullmx.test': [{ exchange: '.', priority: 0 }],
    });
    Object.assign(dns.zone.a!, { 'mx1.two-mx.test': ['127.0.0.91'], 'mx2.two-mx.test': ['127.0.0.92', '127.0.0.93'], 'a-only.test': ['127.0.0.94'] });
    dns.zone.soa = { 'a-only.test': 60, test: 120 };
    dns.zone.servfail = ['broken.test'];
    let clock = 1_000_000;
    const mx = createMxLookup(createDnsResolver([dns.address]), { now: () => clock });
    const count = (q: string) => dns.queries.filter((x) => x === q).length;

    // All hosts in preference order; one without an address stays listed (the sender skips it).
    expect(await mx.lookup('two-mx.test')).toEqual([
      { exchange: 'mx0.two-mx.test', priority: 5, addresses: [] },
      { exchange: 'mx1.two-mx.test', priority: 10, addresses: ['127.0.0.91'] },
      { exchange: 'mx2.two-mx.test', priority: 20, addresses: ['127.0.0.92', '127.0.0.93'] },
    ]);
    // No MX: the domain's own address (RFC 5321 section 5.1); the empty MX answer is kept for the SOA minimum (60 s).
    expect(await mx.lookup('a-only.test')).toEqual([{ exchange: 'a-only.test', priority: 0, addresses: ['127.0.0.94'] }]);
    clock += 59_000;
    await mx.lookup('a-only.test');
    expect(count('MX a-only.test')).toBe(1);
    clock += 2_000;
    await mx.lookup('a-only.test');
    expect(count('MX a-only.test')).toBe(2);
    // A domain that does not exist: no host, remembered for the parent zone's SOA minimum (120 s).
    expect(await mx.lookup('gone.test')).toEqual([{ exchange: 'gone.test', priority: 0, addresses: [] }]);
    clock += 119_000;
    await mx.lookup('gone.test');
    expect(count('MX gone.test')).toBe(1);
    clock += 2_000;
    await mx.lookup('gone.test');
    expect(count('MX gone.test')).toBe(2);
    // RFC 7505 null MX: a permanent refusal, not an implicit MX.
    await expect(mx.lookup('nullmx.test')).rejects.toBeInstanceOf(NullMxError);
    expect(count('A nullmx.test')).toBe(0);
    // SERVFAIL: the failure is remembered for 30 s, then asked again.
    await expect(mx.lookup('broken.test')).rejects.toThrow();
    const asked = count('MX broken.test');
    clock += 29_000;
    await expect(mx.lookup('broken.test')).rejects.toThrow();
    expect(count('MX broken.test')).toBe(asked);
    clock += 2_000;
    await expect(mx.lookup('broken.test')).rejects.toThrow();
    expect(count('MX broken.test')).toBeGreaterThan(asked);
  });
});
