import type { ProviderRules } from './rules.js';

const endsWith = (name: string, suffix: string) => {
  const s = suffix.toLowerCase().replace(/^\./, '');
  return name === s || name.endsWith(`.${s}`);
};

/**
 * The mailbox provider of a recipient domain, KumoMTA-style: a provider whose MX suffixes cover
 * every MX host of the domain (so hosted domains on Google Workspace count as Gmail), else one
 * whose domain suffixes list the domain itself, else "other".
 */
export function classifyProvider(rules: ProviderRules, domain: string, mxHosts: readonly string[]): string {
  const d = domain.toLowerCase();
  const hosts = mxHosts.map((h) => h.toLowerCase().replace(/\.$/, '')).filter((h) => h !== d);
  if (hosts.length > 0) {
    const byMx = rules.providers.find((p) => p.match.mxSuffix.length > 0 && hosts.every((h) => p.match.mxSuffix.some((s) => endsWith(h, s))));
    if (byMx) return byMx.name;
  }
  return rules.providers.find((p) => p.match.domainSuffix.some((s) => endsWith(d, s)))?.name ?? 'other';
}
