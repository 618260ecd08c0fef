import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { recordPreferenceChange } from '../domain/privacy/consent.js';
import { checkUnsubscribeToken, type UnsubscribeClaim } from '../domain/feedback/unsubscribe-token.js';
import type { Db } from '../db/client.js';
import { categories, preferences, users } from '../db/schema.js';
import { preferenceUrl } from '../domain/preferences/link-token.js';
import { jsonResponse, OPEN, problemResponses, router } from './contract.js';
import type { ApiDeps } from './env.js';
import { UnsubscribeResult } from './feedback-schemas.js';
import { ApiProblem, problems } from './problem.js';

// RFC 8058 one-click unsubscribe. The link itself is the credential (opaque, expiring, single-use), so no
// API key: the mailbox provider POSTs "List-Unsubscribe=One-Click" and the category's e-mail
// stops at once. A GET (a person clicking the footer link, or a link scanner) changes nothing.

const invalid = (status: 400 | 404 | 410, type: string, detail: string) =>
  new ApiProblem(status, { type, title: status === 410 ? 'Unsubscribe link no longer valid' : 'Invalid unsubscribe link', detail });
const refusal = {
  malformed: invalid(400, 'unsubscribe-link-invalid', 'The unsubscribe link is malformed'),
  unknown: invalid(404, 'unsubscribe-link-invalid', 'This unsubscribe link is not valid (unknown link)'),
  revoked: invalid(
    410,
    'unsubscribe-link-revoked',
    'This unsubscribe link is no longer valid: it was used, revoked, or you subscribed again; use the preferences in the app instead',
  ),
  expired: invalid(
    410,
    'unsubscribe-link-expired',
    'This unsubscribe link has expired and is no longer valid; use the preferences in the app instead',
  ),
};

const tokenParam = z.object({ token: z.string().describe('Opaque token from the List-Unsubscribe link') });
/** A link that is malformed (400), unknown (404), used, revoked or expired (410); 503 when the API has no secret key or database. */
const LINK_PROBLEMS = [400, 404, 410, 503] as const;

const confirmPage = createRoute({
  method: 'get',
  path: '/{token}',
  summary: 'Confirmation page for a person following the footer link (changes nothing)',
  ...OPEN,
  request: { params: tokenParam },
  responses: { 200: { description: 'HTML form', content: { 'text/html': { schema: z.string() } } }, ...problemResponses(...LINK_PROBLEMS) },
});
const oneClick = createRoute({
  method: 'post',
  path: '/{token}',
  summary: "RFC 8058 one-click unsubscribe: turns the category's e-mail off at once",
  ...OPEN,
  request: {
    params: tokenParam,
    // Checked by the handler, which answers 400 for any other body (RFC 8058), so not a validator.
    body: {
      required: true,
      content: {
        'application/x-www-form-urlencoded': {
          schema: { type: 'object', properties: { 'List-Unsubscribe': { type: 'string', enum: ['One-Click'] } }, required: ['List-Unsubscribe'] },
        },
      },
    },
  },
  responses: { 200: jsonResponse(UnsubscribeResult, 'Unsubscribed'), ...problemResponses(...LINK_PROBLEMS, 409, 413) },
});

export function unsubscribeApi({ db, secrets, publicUrl }: ApiDeps) {
  const app = router();

  const claimOf = async (tx: Pick<Db, 'select' | 'update'>, token: string, consume: boolean): Promise<UnsubscribeClaim> => {
    if (!secrets) throw problems.unavailable('Unsubscribe links need the engine secret key, which this API was not given');
    const check = await checkUnsubscribeToken(tx, token, consume);
    if (!check.ok) throw refusal[check.reason];
    return check.claim;
  };

  app.openapi(confirmPage, async (c) => {
    const claim = await claimOf(db, c.req.valid('param').token, false);
    const action = c.req.path.replace(/"/g, '');
    return c.html(
      `<!doctype html><html><body><p>Stop e-mail about ${escape(claim.category)}?</p>` +
        `<form method="post" action="${action}"><input type="hidden" name="List-Unsubscribe" value="One-Click">` +
        `<button type="submit">Unsubscribe</button></form>` +
        // The same link holder may manage every category in the preference centre.
        `<p><a href="${escape(preferenceUrl(secrets!, publicUrl ?? new URL(c.req.url).origin, { tenantId: claim.tenantId, userId: claim.userId }).url)}">Manage all your notification preferences</a></p></body></html>`,
    );
  });

  app.openapi(oneClick, async (c) => {
    const { token } = c.req.valid('param');
    await claimOf(db, token, false);
    const type = c.req.header('content-type') ?? '';
    const form = /x-www-form-urlencoded|multipart\/form-data/i.test(type) ? await c.req.parseBody() : {};
    if (form['List-Unsubscribe'] !== 'One-Click') {
      throw problems.badRequest('A one-click unsubscribe POST carries the form body "List-Unsubscribe=One-Click" (RFC 8058)');
    }
    // The link is used up in the transaction that unsubscribes: it works once.
    const result = await db.transaction(async (tx) => {
      const claim = await claimOf(tx, token, true);
      const [row] = await tx
        .select({
          externalId: users.externalId,
          defaults: categories.defaultChannels,
          mandatory: categories.mandatory,
          requiresOptIn: categories.requiresOptIn,
          chosen: preferences.channels,
        })
        .from(users)
        .innerJoin(categories, and(eq(categories.tenantId, users.tenantId), eq(categories.key, claim.category)))
        .leftJoin(preferences, and(eq(preferences.userId, users.id), eq(preferences.categoryKey, claim.category)))
        .where(and(eq(users.id, claim.userId), eq(users.tenantId, claim.tenantId)));
      if (!row) throw problems.notFound('The user or category of this link no longer exists');
      if (row.mandatory) throw problems.conflict(`${claim.category} alerts are mandatory and can't be unsubscribed from`);
      const channels = (row.chosen ?? row.defaults).filter((ch) => ch !== 'email');
      // A consent-ledger record (source unsubscribe-link); an opt-in category left with no channel loses its opt-in.
      await recordPreferenceChange(tx, {
        tenantId: claim.tenantId,
        userId: claim.userId,
        externalId: row.externalId,
        categories: { [claim.category]: channels as ('email' | 'push')[] },
        source: 'unsubscribe-link',
        actor: 'link',
        auditStep: 'preferences.unsubscribed',
      });
      return { category: claim.category, channels };
    });
    return c.json({ unsubscribed: true, ...result }, 200);
  });

  return app;
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
