// firebase-admin Messaging for real FCM or a local FCM-compatible endpoint. The local case
// still runs firebase-admin's own request, retry and error-mapping code: only the socket
// is redirected (by the HTTP agent) and the OAuth token is fixed (by the credential).
import { AsyncLocalStorage } from 'node:async_hooks';
import { channel } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { cert, initializeApp, type AppOptions, type Credential } from 'firebase-admin/app';
import { getMessaging, type Messaging } from 'firebase-admin/messaging';

export interface FcmConfig {
  projectId: string;
  /** local FCM-compatible endpoint (dev/tests); absent = real FCM with serviceAccountJson */
  endpoint?: { host: string; port: number; caPem: string; accessToken: string };
  serviceAccountJson?: string;
  /** firebase app name; default is a fresh unique name per call so configs can coexist */
  appName?: string;
}

export type PushOutcome =
  | { ok: true; messageId: string }
  | { ok: false; kind: 'transient' | 'permanent'; code: string; message: string; retryAfterMs?: number; tokenInvalid: boolean };

const FCM_HOST = 'fcm.googleapis.com';

/** Sends FCM's requests (addressed to fcm.googleapis.com) over TLS to the local endpoint, trusting only its CA. */
class LocalFcmAgent extends https.Agent {
  constructor(private readonly target: { host: string; port: number; caPem: string }) {
    super({ keepAlive: true, ca: target.caPem });
  }

  override createConnection(options: https.RequestOptions, cb?: (err: Error | null, stream: Duplex) => void) {
    return super.createConnection({ ...options, host: this.target.host, port: this.target.port, servername: FCM_HOST }, cb);
  }
}

// firebase-admin's errors drop the HTTP headers, so Retry-After is read off the response of
// requests started inside sendToDevice (scoped by AsyncLocalStorage; later retries overwrite).
const responseScope = new AsyncLocalStorage<{ retryAfter?: string }>();
const requestStart = channel('http.client.request.start'); // module-held so the subscription lives on
requestStart.subscribe((msg) => {
  const scope = responseScope.getStore();
  if (!scope) return;
  (msg as { request: ClientRequest }).request.once('response', (res: IncomingMessage) => {
    const value = res.headers['retry-after'];
    scope.retryAfter = typeof value === 'string' ? value : undefined;
  });
});

let appCounter = 0;

export function createMessaging(cfg: FcmConfig): Messaging {
  const options: AppOptions = { projectId: cfg.projectId };
  if (cfg.endpoint) {
    const { accessToken } = cfg.endpoint;
    const fixedToken: Credential = { getAccessToken: async () => ({ access_token: accessToken, expires_in: 3600 }) };
    options.credential = fixedToken;
    options.httpAgent = new LocalFcmAgent(cfg.endpoint);
  } else {
    if (!cfg.serviceAccountJson) throw new Error('FCM config needs either endpoint or serviceAccountJson');
    options.credential = cert(JSON.parse(cfg.serviceAccountJson) as object);
    options.httpAgent = new https.Agent({ keepAlive: true });
  }
  const app = initializeApp(options, cfg.appName ?? `notiflow-fcm-${++appCounter}`);
  return getMessaging(app);
}

/** Sends one push through firebase-admin's send() (HTTP/1.1 via the app's agent) and classifies the result. */
export async function sendToDevice(
  messaging: Messaging,
  msg: { token: string; title: string; body: string; data?: Record<string, string> },
): Promise<PushOutcome> {
  const scope: { retryAfter?: string } = {};
  try {
    const messageId = await responseScope.run(scope, () =>
      messaging.send({ token: msg.token, notification: { title: msg.title, body: msg.body }, data: msg.data }),
    );
    return { ok: true, messageId };
  } catch (err) {
    return classifyPushError(err, parseRetryAfter(scope.retryAfter));
  }
}

// firebase-admin codes (messaging/<code>) after its mapping of FCM v1 errorCode values.
const TRANSIENT = new Set([
  'server-unavailable',
  'internal-error',
  'message-rate-exceeded',
  'device-message-rate-exceeded',
  'topics-message-rate-exceeded',
  'unknown-error',
]);
const TOKEN_GONE = new Set(['registration-token-not-registered', 'invalid-registration-token']);

/** UNAVAILABLE/QUOTA_EXCEEDED/INTERNAL/network -> transient; UNREGISTERED/INVALID_ARGUMENT/SENDER_ID_MISMATCH/auth -> permanent. */
export function classifyPushError(err: unknown, retryAfterMs?: number): Extract<PushOutcome, { ok: false }> {
  const e = (err ?? {}) as { code?: string; message?: string };
  const code = e.code ?? 'unknown';
  const message = e.message ?? String(err);
  const short = code.replace(/^(messaging|app)\//, '');
  // app/network-error, app/network-timeout: the request never got an FCM answer
  const network = code.startsWith('app/network');
  // FCM answers INVALID_ARGUMENT both for bad payloads and for malformed tokens
  const tokenInvalid = TOKEN_GONE.has(short) || (short === 'invalid-argument' && /registration token/i.test(message));
  const kind = network || TRANSIENT.has(short) ? 'transient' : 'permanent';
  return { ok: false, kind, code, message, tokenInvalid, ...(retryAfterMs !== undefined && { retryAfterMs }) };
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
