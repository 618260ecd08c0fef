import { createRoute, z } from '@hono/zod-openapi';
import { revokeConsoleSessions } from '../web/console/session.js';
import { adminAuth } from './admin-auth.js';
import { jsonResponse, OPERATOR, problemResponses, router } from './contract.js';
import type { ApiDeps } from './env.js';

// Ends every operator console session at once (a stolen cookie, an operator who left); sign-in starts new ones.

const revokeAll = createRoute({
  method: 'delete',
  path: '/console-sessions',
  tags: ['operators'],
  ...OPERATOR,
  summary: 'End every operator console session (audited); browsers must sign in again',
  responses: {
    200: jsonResponse(z.object({ revoked: z.number().int().describe('sessions that were still open') }).openapi('ConsoleSessionsRevoked'), 'Ended'),
    ...problemResponses(400, 401),
  },
});

export function consoleSessionsAdminApi({ db, adminKey }: ApiDeps) {
  const app = router();
  app.use(adminAuth(adminKey));
  app.openapi(revokeAll, async (c) => c.json({ revoked: await revokeConsoleSessions(db, 'operator') }, 200));
  return app;
}
