import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { sendingDomains } from '../db/schema.js';
import { dmarcSummary } from '../domain/dmarc/summary.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { IsoDay, jsonResponse, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { problems } from './problem.js';

const Query = z.object({
  from: IsoDay.optional().describe('First day (UTC), default 30 days before `to`'),
  to: IsoDay.optional().describe('Last day (UTC), default today'),
});
const Params = z.object({
  domain: z
    .string()
    .max(253)
    .openapi({ param: { name: 'domain', in: 'path' }, example: 'acme-pay.test' }),
});
const Source = z.object({
  ip: z.string(),
  ours: z.boolean().describe("One of the engine's pool IPs"),
  pool: z.string().nullable(),
  messages: z.number().int(),
  dmarcPass: z.number().int(),
  dkimAligned: z.number().int().describe('Messages whose DKIM passed aligned with the From domain'),
  spfAligned: z.number().int(),
  dkimAuthPass: z.number().int().describe('Messages with any passing DKIM signature, aligned or not'),
  spfAuthPass: z.number().int(),
  quarantined: z.number().int(),
  rejected: z.number().int(),
  forwarded: z.boolean(),
  forged: z.boolean().describe('Not ours, failing DMARC and not forwarded: someone else sending as the domain'),
});
const Summary = z
  .object({
    domain: z.string(),
    from: z.string(),
    to: z.string(),
    reports: z.number().int(),
    reporters: z.array(z.string()),
    days: z.array(z.object({ day: z.string(), messages: z.number().int(), dmarcPass: z.number().int(), sources: z.array(Source) })),
  })
  .openapi('DmarcSummary');

/** Longest period one request may cover. */
const maxDays = 93;
const dayMs = 86_400_000;

const route = createRoute({
  method: 'get',
  path: '/{domain}/dmarc',
  tags: ['sending domains'],
  summary: 'DMARC aggregate reports for the domain: per day and source IP, pass and alignment, our pools or not',
  request: { params: Params, query: Query },
  responses: { 200: jsonResponse(Summary, 'Per day and source'), ...problemResponses(...TENANT_PROBLEMS, 404, 422) },
});

/** GET /v1/sending-domains/{domain}/dmarc: needs the manage scope. */
export function dmarcApi(deps: ApiDeps) {
  const app = router<ApiEnv>();
  app.openapi(route, async (c) => {
    const domain = c.req.valid('param').domain.toLowerCase().replace(/\.$/, '');
    const q = c.req.valid('query');
    const to = q.to ?? new Date().toISOString().slice(0, 10);
    const from = q.from ?? new Date(Date.parse(to) - 30 * dayMs).toISOString().slice(0, 10);
    for (const [name, v] of [
      ['from', from],
      ['to', to],
    ] as const)
      if (Number.isNaN(Date.parse(v)) || new Date(v).toISOString().slice(0, 10) !== v) throw problems.invalid(`${name} is not a calendar day: ${v}`);
    if (from > to) throw problems.invalid(`from (${from}) is after to (${to})`);
    if ((Date.parse(to) - Date.parse(from)) / dayMs >= maxDays)
      throw problems.invalid(`from..to covers more than ${maxDays} days; ask for a shorter period`);
    const [owned] = await deps.db
      .select({ id: sendingDomains.id })
      .from(sendingDomains)
      .where(and(eq(sendingDomains.tenantId, c.var.tenantId), eq(sendingDomains.domain, domain)));
    if (!owned) throw problems.notFound(`No sending domain ${domain} for this tenant`);
    return c.json(await dmarcSummary(deps.db, c.var.tenantId, domain, from, to), 200);
  });
  return app;
}
