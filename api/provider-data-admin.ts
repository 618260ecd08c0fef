import { createRoute, z } from '@hono/zod-openapi';
import { defaultDeliveryDeps } from '../domain/pool/delivery-deps.js';
import { importPostmaster, TrafficStats } from '../domain/provider-data/postmaster.js';
import { importSnds, parseSndsCsv, ProviderDataError } from '../domain/provider-data/snds.js';
import { providerDataView } from '../domain/provider-data/view.js';
import { BODY_PROBLEMS, IsoDay, jsonBody, jsonResponse, OPERATOR, problemResponses, router } from './contract.js';
import type { ApiDeps } from './env.js';
import { problems } from './problem.js';

const OPERATOR_PROBLEMS = [400, 401] as const;
const Imported = z.object({ imported: z.number().int().describe('Rows stored (a day imported again replaces the earlier one)') });
const SndsBody = z
  .object({
    csv: z
      .string()
      .min(1)
      .describe(
        "SNDS data as its automated access (data.aspx) or export gives it: one line per IP and day, no header needed (e.g. jq -Rs '{csv: .}' snds.csv)",
      ),
  })
  .strict();
const ratio = z.number().nullable();
const View = z
  .object({
    from: z.string(),
    to: z.string(),
    ips: z.array(
      z.object({
        ip: z.string(),
        pool: z.string().nullable().describe('Our pool, or null for an IP of the SNDS data that is not ours'),
        ourOutlookScore: z.number().nullable().describe('Our reputation score of the IP for Outlook (0-100)'),
        snds: z.array(
          z.object({
            day: z.string(),
            rcptCommands: z.number().int(),
            dataCommands: z.number().int(),
            messageRecipients: z.number().int(),
            filterResult: z.string(),
            complaintRate: z.string(),
            trapHits: z.number().int(),
          }),
        ),
      }),
    ),
    domains: z.array(
      z.object({
        domain: z.string(),
        tenantId: z.string().nullable(),
        ourGmailScores: z
          .array(z.object({ ip: z.string(), score: z.number().nullable() }))
          .describe("Our Gmail score of each IP of the tenant's pool"),
        postmaster: z.array(
          z.object({
            day: z.string(),
            spamRate: ratio,
            spfSuccessRatio: ratio,
            dkimSuccessRatio: ratio,
            dmarcSuccessRatio: ratio,
            domainReputation: z.string().nullable(),
          }),
        ),
      }),
    ),
  })
  .openapi('ProviderData');

const routes = {
  snds: createRoute({
    method: 'post',
    path: '/provider-data/snds',
    summary: 'Import Microsoft SNDS per-IP data (the CSV of its automated access or export, as {csv})',
    ...OPERATOR,
    request: { body: jsonBody(SndsBody) },
    responses: { 200: jsonResponse(Imported, 'Imported'), ...problemResponses(...OPERATOR_PROBLEMS, ...BODY_PROBLEMS) },
  }),
  postmaster: createRoute({
    method: 'post',
    path: '/provider-data/postmaster',
    summary: 'Import Google Postmaster Tools traffic stats (the domains.trafficStats.list answer)',
    ...OPERATOR,
    request: { body: jsonBody(TrafficStats) },
    responses: { 200: jsonResponse(Imported, 'Imported'), ...problemResponses(...OPERATOR_PROBLEMS, ...BODY_PROBLEMS) },
  }),
  view: createRoute({
    method: 'get',
    path: '/provider-data',
    summary: "Providers' data per IP and domain, beside our own per-provider scores",
    ...OPERATOR,
    request: { query: z.object({ from: IsoDay, to: IsoDay }) },
    responses: { 200: jsonResponse(View, 'Per IP and per domain'), ...problemResponses(...OPERATOR_PROBLEMS, 422) },
  }),
};

/** /v1/admin/provider-data: SNDS and Postmaster imports, and the view beside our scores. */
export function providerDataAdminApi(deps: ApiDeps) {
  const { db } = deps;
  const rules = () => deps.providerRules ?? defaultDeliveryDeps().rules;
  const app = router();
  app.openapi(routes.snds, async (c) => {
    let rows;
    try {
      rows = parseSndsCsv(c.req.valid('json').csv);
    } catch (err) {
      if (err instanceof ProviderDataError) throw problems.invalid(`Not SNDS data: ${err.message}`);
      throw err;
    }
    return c.json({ imported: await importSnds(db, rows) }, 200);
  });
  app.openapi(routes.postmaster, async (c) => c.json({ imported: await importPostmaster(db, c.req.valid('json').trafficStats) }, 200));
  app.openapi(routes.view, async (c) => {
    const { from, to } = c.req.valid('query');
    if (from > to) throw problems.invalid(`from (${from}) is after to (${to})`);
    return c.json(await providerDataView(db, rules(), from, to), 200);
  });
  return app;
}
