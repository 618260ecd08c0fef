import { randomUUID } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { desc, eq, inArray } from 'drizzle-orm';
import { placementProbes, placementRuns, pools, sendingIps } from '../db/schema.js';
import { addSeed, deleteSeed, listSeeds, type SeedView } from '../domain/placement/seeds.js';
import { defaultDeliveryDeps } from '../domain/pool/delivery-deps.js';
import { loadIpStatus } from '../domain/pool/ip-status.js';
import { placementRunWorkflowId } from '../workflows/ids.js';
import { placementRunWorkflow } from '../workflows/placement.js';
import { BODY_PROBLEMS, jsonBody, jsonResponse, noContent, OPERATOR, problemResponses, router } from './contract.js';
import type { ApiDeps } from './env.js';
import { problems } from './problem.js';

// Operator API for inbox placement (docs/deliverability.md "Seed placement"): the seed
// mailboxes, starting a run, and the latest run's results per IP x provider beside the score.

// A host name or IPv4 address (no lookahead: the fuzzer generates from this pattern).
const HOST = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

const SeedBody = z
  .object({
    provider: z.string().min(1).max(64).describe('Provider name as in the provider rules (gmail, outlook, yahoo, ...), or "other"'),
    address: z.email().max(254).describe('The seed mailbox address placement messages are sent to'),
    imap: z
      .object({
        host: z.string().max(253).regex(HOST, 'a host name or IPv4 address'),
        port: z.number().int().min(1).max(65535).default(993),
        tls: z.boolean().default(true).describe('Implicit TLS (993); false: plain, STARTTLS when the server offers it'),
        username: z.string().min(1).max(254),
        password: z.string().min(1).max(1024).describe('Stored sealed with the engine keyring; never shown again'),
      })
      .strict(),
  })
  .strict()
  .openapi('SeedMailboxInput');

const SeedViewSchema = z
  .object({
    id: z.string(),
    provider: z.string(),
    address: z.string(),
    imap: z.object({ host: z.string(), port: z.number().int(), tls: z.boolean(), username: z.string() }),
    createdAt: z.string(),
  })
  .openapi('SeedMailbox');

const RunBody = z
  .object({
    pools: z.array(z.string().min(1).max(200)).min(1).max(100).describe('The pools whose IPs are tested (the schedule tests every pool)'),
    seeds: z.array(z.uuid()).min(1).max(100).optional().describe('Only these seed mailboxes; every seed when absent'),
    waitSeconds: z.number().int().min(0).max(86_400).default(1800).describe('How long providers get to file the messages before the seeds are read'),
  })
  .strict();

const PlacementCellView = z.object({
  ipId: z.string(),
  ip: z.string(),
  poolId: z.string(),
  provider: z.string(),
  inbox: z.number().int(),
  spam: z.number().int(),
  missing: z.number().int(),
  notSent: z.number().int(),
  unchecked: z.number().int(),
  pending: z.number().int().describe('Sent, not read back yet'),
  score: z.number().int().describe("The IP's current reputation score (0-100) for this provider, placement included"),
});
const LatestView = z
  .object({
    run: z.object({ id: z.string(), trigger: z.string(), startedAt: z.string(), checkedAt: z.string().nullable() }).nullable(),
    results: z.array(PlacementCellView),
  })
  .openapi('PlacementRun');

const seedView = (s: SeedView) => ({ ...s, createdAt: s.createdAt.toISOString() });

const listRoute = createRoute({
  method: 'get',
  path: '/seed-mailboxes',
  summary: 'Seed mailboxes for inbox placement (passwords are never shown)',
  ...OPERATOR,
  responses: { 200: jsonResponse(z.object({ seeds: z.array(SeedViewSchema) }), 'Seeds'), ...problemResponses(400, 401) },
});
const addRoute = createRoute({
  method: 'post',
  path: '/seed-mailboxes',
  summary: 'Add a seed mailbox (its IMAP password stored encrypted)',
  ...OPERATOR,
  request: { body: jsonBody(SeedBody) },
  responses: {
    201: jsonResponse(SeedViewSchema, 'Added'),
    ...problemResponses(400, 401, 409, 503, ...BODY_PROBLEMS),
  },
});
const deleteRoute = createRoute({
  method: 'delete',
  path: '/seed-mailboxes/{id}',
  summary: 'Remove a seed mailbox',
  ...OPERATOR,
  request: { params: z.object({ id: z.uuid() }) },
  responses: { 204: noContent, ...problemResponses(400, 401, 404, 422) },
});
const runRoute = createRoute({
  method: 'post',
  path: '/placement/runs',
  summary: 'Start a placement run now: a marked message from each pool IP to each seed, read back after the wait',
  ...OPERATOR,
  request: { body: jsonBody(RunBody) },
  responses: {
    202: jsonResponse(z.object({ runId: z.string(), workflowId: z.string() }), 'Started'),
    ...problemResponses(400, 401, 409, 503, ...BODY_PROBLEMS),
  },
});
const latestRoute = createRoute({
  method: 'get',
  path: '/placement/latest',
  summary: "The latest placement run: per IP x provider, where the seeds' copies landed, beside the IP's score",
  ...OPERATOR,
  responses: { 200: jsonResponse(LatestView, 'The latest run (run null before the first)'), ...problemResponses(400, 401) },
});

export function placementAdminApi(deps: ApiDeps) {
  const { db } = deps;
  const rules = () => deps.providerRules ?? defaultDeliveryDeps().rules;
  const app = router();

  app.openapi(listRoute, async (c) => c.json({ seeds: (await listSeeds(db)).map(seedView) }, 200));

  app.openapi(addRoute, async (c) => {
    const body = c.req.valid('json');
    const known = ['other', ...rules().providers.map((p) => p.name)];
    if (!known.includes(body.provider))
      throw problems.invalid(`provider must be one of the provider rules' names: ${known.join(', ')}`, [
        { path: 'provider', message: 'unknown provider' },
      ]);
    if (!deps.secrets)
      throw problems.unavailable('Seed mailboxes need the engine secret key (SECRET_KEY) to seal their passwords; this API was not given it');
    const seed = await addSeed(db, deps.secrets, body);
    if (!seed) throw problems.conflict('A seed mailbox with this address exists already; remove it first to change it');
    return c.json(seedView(seed), 201);
  });

  app.openapi(deleteRoute, async (c) => {
    if (!(await deleteSeed(db, c.req.valid('param').id))) throw problems.notFound('No seed mailbox with this id');
    return c.body(null, 204);
  });

  app.openapi(runRoute, async (c) => {
    const body = c.req.valid('json');
    const seeds = await listSeeds(db);
    if (seeds.length === 0) throw problems.conflict('No seed mailbox is configured (POST /v1/admin/seed-mailboxes): a run would send nothing');
    const found = new Set((await db.select({ id: pools.id }).from(pools).where(inArray(pools.id, body.pools))).map((p) => p.id));
    const unknown = [
      ...body.pools.flatMap((p, i) => (found.has(p) ? [] : [{ path: `pools/${i}`, message: `no such pool: ${p}` }])),
      ...(body.seeds ?? []).flatMap((id, i) =>
        seeds.some((s) => s.id === id) ? [] : [{ path: `seeds/${i}`, message: `no such seed mailbox: ${id}` }],
      ),
    ];
    if (unknown.length) throw problems.invalid(`Unknown ${unknown.map((u) => u.message.replace(/^no such /, '')).join('; ')}`, unknown);
    const runId = randomUUID();
    const workflowId = placementRunWorkflowId(runId);
    try {
      await deps.temporal.workflow.start(placementRunWorkflow, {
        taskQueue: deps.taskQueue,
        workflowId,
        args: [{ runId, trigger: 'operator', waitMs: body.waitSeconds * 1000, pools: body.pools, ...(body.seeds ? { seeds: body.seeds } : {}) }],
        staticSummary: `placement run (${body.pools.length} pools)`,
      });
    } catch {
      throw problems.unavailable('The placement run could not be started; retry');
    }
    return c.json({ runId, workflowId }, 202);
  });

  app.openapi(latestRoute, async (c) => {
    const [run] = await db.select().from(placementRuns).orderBy(desc(placementRuns.startedAt)).limit(1);
    if (!run) return c.json({ run: null, results: [] }, 200);
    const probes = await db
      .select({ p: placementProbes, poolId: sendingIps.poolId, ehloName: sendingIps.ehloName, weight: sendingIps.weight })
      .from(placementProbes)
      .innerJoin(sendingIps, eq(sendingIps.id, placementProbes.ipId))
      .where(eq(placementProbes.runId, run.id));
    const ipRows = [
      ...new Map(
        probes.map((r) => [r.p.ipId, { id: r.p.ipId, poolId: r.poolId, localAddress: r.p.sourceIp, ehloName: r.ehloName, weight: r.weight }]),
      ).values(),
    ];
    const statuses = await loadIpStatus(db, rules(), ipRows, Date.now());
    const cells = new Map<string, z.infer<typeof PlacementCellView>>();
    for (const { p, poolId } of probes) {
      const key = `${p.ipId}|${p.provider}`;
      const score = statuses.find((s) => s.id === p.ipId)?.byProvider[p.provider]?.score ?? 100;
      const cell = cells.get(key) ?? {
        ipId: p.ipId,
        ip: p.sourceIp,
        poolId,
        provider: p.provider,
        inbox: 0,
        spam: 0,
        missing: 0,
        notSent: 0,
        unchecked: 0,
        pending: 0,
        score,
      };
      if (p.outcome === 'not_sent') cell.notSent++;
      else if (p.outcome === 'inbox' || p.outcome === 'spam' || p.outcome === 'missing' || p.outcome === 'unchecked') cell[p.outcome]++;
      else cell.pending++;
      cells.set(key, cell);
    }
    const results = [...cells.values()].sort(
      (a, b) => a.poolId.localeCompare(b.poolId) || a.ip.localeCompare(b.ip) || a.provider.localeCompare(b.provider),
    );
    return c.json(
      {
        run: { id: run.id, trigger: run.trigger, startedAt: run.startedAt.toISOString(), checkedAt: run.checkedAt?.toISOString() ?? null },
        results,
      },
      200,
    );
  });
  return app;
}
