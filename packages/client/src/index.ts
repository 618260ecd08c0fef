// The hand-written surface of the typed client: the calls most apps make, over the generated
// types (api-types.ts). Every other route is typed too, through `api` (openapi-fetch).
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './api-types.js';

export type { components, paths } from './api-types.js';

/** An RFC 9457 problem, as the API answers every refusal. */
export type Problem = components['schemas']['Problem'];

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;
type Query<T> = T extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type Body<T> = T extends { requestBody: { content: { 'application/json': infer B } } } ? B : never;

export type SendRequest = Body<paths['/v1/notifications']['post']>;
export type Accepted = Json<paths['/v1/notifications']['post']['responses'][202]>;
export type Notification = Json<paths['/v1/notifications/{id}']['get']['responses'][200]>;
export type ListFilters = Query<paths['/v1/notifications']['get']>;
export type NotificationPage = Json<paths['/v1/notifications']['get']['responses'][200]>;
export type Preferences = Json<paths['/v1/users/{userId}/preferences']['get']['responses'][200]>;
export type PreferencesUpdate = Body<paths['/v1/users/{userId}/preferences']['put']>;

/** A refusal from the API: its status and problem (`detail` says what is wrong). */
export class NotiflowProblem extends Error {
  override readonly name = 'NotiflowProblem';
  constructor(
    readonly status: number,
    readonly problem: Problem,
    /** Seconds to wait before retrying (429, 503), when the API said. */
    readonly retryAfter?: number,
  ) {
    super(`${status} ${problem.title}: ${problem.detail}`);
  }
}

export interface NotiflowOptions {
  /** The API's base URL, e.g. https://notify.example.com */
  baseUrl: string;
  /** A tenant API key (nf_...). */
  apiKey: string;
  /** A fetch of your own (proxies, tests); the global one otherwise. */
  fetch?: (request: Request) => Promise<Response>;
}

/** What every call returns: the body on success, a thrown NotiflowProblem on refusal. */
async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const retry = Number(response.headers.get('retry-after'));
  const problem = isProblem(error)
    ? error
    : { type: 'http-error', title: response.statusText || 'Request failed', status: response.status, detail: String(error ?? '') };
  throw new NotiflowProblem(response.status, problem, Number.isFinite(retry) && retry > 0 ? retry : undefined);
}

function isProblem(v: unknown): v is Problem {
  return !!v && typeof v === 'object' && typeof (v as Problem).title === 'string' && typeof (v as Problem).detail === 'string';
}

export interface NotiflowClient {
  /** Every route of the API, typed from its OpenAPI document. */
  api: Client<paths>;
  notifications: {
    /** Triggers a notification; the same idempotencyKey again returns the same one and starts nothing. */
    send(request: SendRequest, opts: { idempotencyKey: string }): Promise<Accepted>;
    /** Its status, channels, delivery attempts and feedback. */
    get(id: string): Promise<Notification>;
    /** One page, newest first; pass `nextCursor` as `cursor` for the next. */
    list(filters?: ListFilters): Promise<NotificationPage>;
  };
  preferences: {
    get(userId: string): Promise<Preferences>;
    set(userId: string, preferences: PreferencesUpdate): Promise<Preferences>;
  };
}

export function createNotiflowClient(opts: NotiflowOptions): NotiflowClient {
  const api = createClient<paths>({
    baseUrl: opts.baseUrl.replace(/\/+$/, ''),
    headers: { authorization: `Bearer ${opts.apiKey}` },
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  return {
    api,
    notifications: {
      send: (body, { idempotencyKey }) => unwrap(api.POST('/v1/notifications', { body, params: { header: { 'Idempotency-Key': idempotencyKey } } })),
      get: (id) => unwrap(api.GET('/v1/notifications/{id}', { params: { path: { id } } })),
      list: (filters = {}) => unwrap(api.GET('/v1/notifications', { params: { query: filters } })),
    },
    preferences: {
      get: (userId) => unwrap(api.GET('/v1/users/{userId}/preferences', { params: { path: { userId } } })),
      set: (userId, body) => unwrap(api.PUT('/v1/users/{userId}/preferences', { body, params: { path: { userId } } })),
    },
  };
}
