// `npm run bench:render`: e-mails of a tenant's stored version rendered per second with mjml run
// for every message and with the engine's compiled path (renderVersionEmail: mjml once per version
// and locale, then only escaped values substituted). Each path runs for a bounded time.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { renderVersionEmail, type TemplateVersion } from '../templates/index.js';
import { mjmlToHtmlHere } from '../templates/mjml.js';
import { escapeHtml, fillPlaceholders } from '../templates/substitute.js';
import { defaultType } from '../seed/defaults.js';
import { assembleEmail, formatLocaleFor, versionValues } from '../templates/version-render.js';
import { repoRoot } from './children.js';
import { round } from './stats.js';

const seconds = Number(/^--seconds=(\d+)$/.exec(process.argv[2] ?? '')?.[1] ?? 10);
const ctx = { tenantName: 'Bench Bank', timezone: 'Europe/Paris' };
const locales = ['en', 'fr', 'de', 'nl'];

async function rate(label: string, render: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await render(i); // warm-up (and the compile, for the compiled path)
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let n = 0;
  while (performance.now() < deadline) await render(n++);
  const perS = n / ((performance.now() - start) / 1000);
  console.log(`${label}: ${n} messages in ${seconds} s = ${round(perS)} messages/s`);
  return perS;
}

// Each message has its own amount and merchant, as real alerts do.
const data = (i: number) => ({ amount: (i % 5000) / 7, currency: 'EUR', merchant: `Merchant ${i}`, accountLast4: String(1000 + (i % 9000)) });
const locale = (i: number) => locales[i % locales.length]!;

// A tenant's own version as seedTenantDefaults stores it: account.transaction v1 in the built-in layout.
const seeded = defaultType('account.transaction');
const tenant: TemplateVersion = {
  tenantId: 'bench',
  type: 'account.transaction',
  version: 1,
  content: seeded.content,
  variables: seeded.variables,
  layout: null,
  defaultLocale: 'en',
};
const tenantCtx = { ...ctx, unsubscribeUrl: 'https://bench.example/u/abc' };
const links = { unsubscribe: true, preferences: false };
const tenantMjml = await rate('tenant version, mjml per message', async (i) => {
  const sources = assembleEmail(tenant, locale(i), links);
  const values = versionValues(tenant, formatLocaleFor(locale(i), sources.locale), data(i), tenantCtx);
  return mjmlToHtmlHere(fillPlaceholders(sources.mjml, Object.fromEntries(Object.entries(values).map(([k, v]) => [k, escapeHtml(v)]))));
});
const tenantCompiled = await rate('tenant version, compiled (renderVersionEmail)', (i) => renderVersionEmail(tenant, locale(i), data(i), tenantCtx));
const tenantRatio = round(tenantCompiled / tenantMjml);
console.log(`tenant version compiled / mjml: ${tenantRatio}x (target: at least 100x)`);

const dir = join(repoRoot, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const result = {
  at: new Date().toISOString(),
  machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version },
  seconds,
  tenant: {
    template: 'tenant version of account.transaction, built-in layout',
    mjmlPerS: round(tenantMjml),
    compiledPerS: round(tenantCompiled),
    ratio: tenantRatio,
    targetMet: tenantRatio >= 100,
  },
};
writeFileSync(join(dir, 'render.json'), JSON.stringify(result, null, 2));
