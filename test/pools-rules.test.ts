import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliveryDeps } from '../domain/pool/delivery-deps.js';
import { createDnsResolver, createMxLookup } from '../domain/pool/mx-lookup.js';
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
    expect(rules.providers.find((p) => p.name === 'yahoo')!.responses.find((r) => r.id === 'yahoo-ts04')).toMatchObject({ trigger: 'immediate', action: 'suspend', duration: 2 * 3_600_000 });
  });

  it('is refused at start when malformed, naming the line and the field', () => {
    const negative = repoText.replace('"connectionsPerIp": 2, "messagesPerConnection": 100', '"connectionsPerIp": -2, "messagesPerConnection": 100');
    expect(refusal(negative)).toContain(`provider-rules.json:${lineOf('"connectionsPerIp": 2, "messagesPerConnection": 100')}: providers[5].limits.connectionsPerIp:`);

    const badAction = repoText.replace('"trigger": "immediate", "action": "suspend", "duration": "2h"', '"trigger": "immediate", "action": "explode", "duration": "2h"');
    expect(refusal(badAction)).toMatch(new RegExp(`provider-rules\\.json:${lineOf('"id": "yahoo-ts04"')}: providers\\[3\\]\\.responses\\[0\\]\\.action: Invalid option`));

    const badRegex = repoText.replace('"regex": "\\\\[TSS?04\\\\]"', '"regex": "[TSS?04"');
    expect(refusal(badRegex)).toContain(`:${lineOf('"id": "yahoo-ts04"')}: providers[3].responses[0].regex: not a valid regular expression`);

    const syntax = repoText.replace('"version": 1,', '"version": 1');
    expect(refusal(syntax)).toContain(`provider-rules.json:${lineOf('"defaults"')}: syntax error`);

    const missing = repoText.replace('"throttleRate": "10/minute", "duration": "30m" },\n        { "id": "gmail-detected"', '"duration": "30m" },\n        { "id": "gmail-detected"');
    expect(refusal(missing)).toContain('providers[0].responses[0].throttleRate: a throttle rule needs throttleRate');
  });
});

describe('provider classification', () => {
  let dns: DnsServer;
  beforeAll(async () => {
    dns = await startDnsServer({
      zone: {
        mx: {
          'bank-customer.fr': [{ exchange: 'aspmx.l.google.com', priority: 1 }, { exchange: 'alt1.aspmx.l.google.com', priority: 5 }],
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
    const providerOf = async (domain: string) => classifyProvider(rules, domain, (await mx.lookup(domain)).map((h) => h.exchange));
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
});
