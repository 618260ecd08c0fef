import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { recordPreferenceChange } from '../domain/privacy/consent.js';
import { verifyUnsubscribeToken, type UnsubscribeClaim } from '../domain/feedback/unsubscribe-token.js';
import { categories, preferences, users } from '../db/schema.js';
import { preferenceUrl } from '../domain/preferences/link-token.js';
import { jsonResponse, OPEN, problemResponses, router } from './contract.js';
import type { ApiDeps } from './env.js';
import { UnsubscribeResult } from './feedback-schemas.js';
import { ApiProblem, problems } from './problem.js';

// RFC 8058 one-click unsubscribe. The link itself is the credential (signed, expiring), so no
// API key: the mailbox provider POSTs "List-Unsubscribe=One-Click" and the category's e-mail
// stops at once. A GET (a person clicking the footer link, or a link scanner) changes nothing.

const refusal = {
  malformed: new ApiProblem(400, {
    type: 'unsubscribe-link-invalid',
    title: 'Invalid unsubscribe link',
    detail: 'The unsubscribe link is malformed',
  }),
  forged: new ApiProblem(403, {
    type: 'unsubscribe-link-invalid',
    title: 'Invalid unsubscribe link',
    detail: 'The unsubscribe link is not valid: its signature does not match',
  }),
  expired: new ApiProblem(410, {
    type: 'unsubscribe-link-expired',
    title: 'Unsubscribe link expired',
    detail: 'The unsubscribe link has expired; use the preferences in the app instead',
  }),
};

const tokenParam = z.object({ token: z.string().describe('Signed, expiring token from the List-Unsubscribe link') });
/** A link that is malformed (400), forged (403) or expired (410); 503 when the API has no secret key. */
const LINK_PROBLEMS = [400, 403, 410, 503] as const;

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
  responses: { 200: jsonResponse(UnsubscribeResult, 'Unsubscribed'), ...problemResponses(...LINK_PROBLEMS, 404, 409, 413) },
});

export function unsubscribeApi({ db, secrets, publicUrl }: ApiDeps) {
  const app = router();

  const claimOf = (token: string): UnsubscribeClaim => {
    if (!secrets) throw problems.unavailable('Unsubscribe links need the engine secret key, which this API was not given');
    const check = verifyUnsubscribeToken(secrets, token);
    if (!check.ok) throw refusal[check.reason];
    return check.claim;
  };

  app.openapi(confirmPage, (c) => {
    const claim = claimOf(c.req.valid('param').token);
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
    const claim = claimOf(c.req.valid('param').token);
    const type = c.req.header('content-type') ?? '';
    const form = /x-www-form-urlencoded|multipart\/form-data/i.test(type) ? await c.req.parseBody() : {};
    if (form['List-Unsubscribe'] !== 'One-Click') {
      throw problems.badRequest('A one-click unsubscribe POST carries the form body "List-Unsubscribe=One-Click" (RFC 8058)');
    }
    const [row] = await db
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
    await db.transaction((tx) =>
      recordPreferenceChange(tx, {
        tenantId: claim.tenantId,
        userId: claim.userId,
        externalId: row.externalId,
        categories: { [claim.category]: channels as ('email' | 'push')[] },
        source: 'unsubscribe-link',
        actor: 'link',
        auditStep: 'preferences.unsubscribed',
      }),
    );
    return c.json({ unsubscribed: true, category: claim.category, channels }, 200);
  });

  return app;
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
