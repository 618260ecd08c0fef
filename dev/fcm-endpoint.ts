// A local HTTPS server speaking the FCM HTTP v1 send contract, with FCM's real error shapes
// and statuses, so firebase-admin's own request and error-mapping code runs in dev and tests.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { arrivals } from './arrivals.js';
import { createTestTls } from './test-ca.js';

export type FcmErrorCode = 'UNREGISTERED' | 'INVALID_ARGUMENT' | 'UNAVAILABLE' | 'QUOTA_EXCEEDED' | 'INTERNAL';

export interface ReceivedPush {
  id: string;
  receivedAt: string;
  projectId: string;
  token: string;
  title?: string;
  body?: string;
  data?: Record<string, string>;
  message: unknown;
}

export interface FcmEndpointOptions {
  host?: string;
  port?: number;
  /** expected bearer, default 'test-access-token' */
  accessToken?: string;
  /** Retry-After sent with QUOTA_EXCEEDED, default 60 */
  retryAfterSeconds?: number;
  /** per-token behaviour: return an FCM error code to fail this call, undefined to accept. attempt counts calls for that token. */
  onSend?: (ctx: { token: string; attempt: number }) => FcmErrorCode | undefined;
}

export interface FcmEndpoint {
  host: string;
  port: number;
  caPem: string;
  received: ReceivedPush[];
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedPush[]>;
  clear(): void;
  close(): Promise<void>;
}

// FCM v1: HTTP status and google.rpc status for each FcmError code, with FCM's own messages.
const ERRORS: Record<FcmErrorCode, { http: number; status: string; message: string }> = {
  UNREGISTERED: { http: 404, status: 'NOT_FOUND', message: 'Requested entity was not found.' },
  INVALID_ARGUMENT: { http: 400, status: 'INVALID_ARGUMENT', message: 'The registration token is not a valid FCM registration token' },
  UNAVAILABLE: { http: 503, status: 'UNAVAILABLE', message: 'The service is currently unavailable.' },
  QUOTA_EXCEEDED: { http: 429, status: 'RESOURCE_EXHAUSTED', message: 'Quota exceeded for sending messages.' },
  INTERNAL: { http: 500, status: 'INTERNAL', message: 'Internal error encountered.' },
};

// Without onSend, token prefixes let the dev run show failures.
const byPrefix = ({ token }: { token: string }): FcmErrorCode | undefined =>
  token.startsWith('unregistered-') ? 'UNREGISTERED' : token.startsWith('invalid-') ? 'INVALID_ARGUMENT' : undefined;

const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;

export async function startFcmEndpoint(opts: FcmEndpointOptions = {}): Promise<FcmEndpoint> {
  const tls = createTestTls(['localhost', 'fcm.googleapis.com']);
  const accessToken = opts.accessToken ?? 'test-access-token';
  const decide = opts.onSend ?? byPrefix;
  const received: ReceivedPush[] = [];
  const attempts = new Map<string, number>();
  const arrived = arrivals(received, 'fcm endpoint');

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
    res.end(JSON.stringify(body));
  };
  const rpcError = (res: ServerResponse, http: number, status: string, message: string, fcmCode?: string, headers?: Record<string, string>) =>
    json(
      res,
      http,
      {
        error: {
          code: http,
          message,
          status,
          ...(fcmCode && { details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: fcmCode }] }),
        },
      },
      headers,
    );

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const projectId = req.method === 'POST' ? SEND_PATH.exec(req.url ?? '')?.[1] : undefined;
    if (!projectId) return rpcError(res, 404, 'NOT_FOUND', 'Not found');
    if (req.headers.authorization !== `Bearer ${accessToken}`) {
      return rpcError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.');
    }
    let message: { token?: unknown; notification?: { title?: string; body?: string }; data?: Record<string, string> };
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      message = JSON.parse(Buffer.concat(chunks).toString('utf8')).message;
    } catch {
      return rpcError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    if (!message || typeof message.token !== 'string' || !message.token) {
      return rpcError(res, 400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', 'INVALID_ARGUMENT');
    }
    const token = message.token;
    const attempt = (attempts.get(token) ?? 0) + 1;
    attempts.set(token, attempt);
    const failure = decide({ token, attempt });
    if (failure) {
      const e = ERRORS[failure];
      const headers = failure === 'QUOTA_EXCEEDED' ? { 'retry-after': String(opts.retryAfterSeconds ?? 60) } : undefined;
      return rpcError(res, e.http, e.status, e.message, failure, headers);
    }
    const id = randomUUID();
    received.push({
      id,
      receivedAt: new Date().toISOString(),
      projectId,
      token,
      title: message.notification?.title,
      body: message.notification?.body,
      data: message.data,
      message,
    });
    arrived.notify();
    json(res, 200, { name: `projects/${projectId}/messages/${id}` });
  }

  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    handle(req, res).catch(() => rpcError(res, 500, 'INTERNAL', 'Internal error encountered.', 'INTERNAL'));
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    host,
    port,
    caPem: tls.caPem,
    received,
    waitFor: arrived.waitFor,
    clear() {
      received.length = 0;
      attempts.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive sockets from firebase-admin's agent would hold close() open
      }),
  };
}
