// A notification type's digest declaration (PUT /v1/notification-types/{type} `digest`), stored as
// jsonb on notification_types. Plain data on the ground floor: db/, domain/ and workflows/ read it.

export const weekdays = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof weekdays)[number];

/** "daily 19:00" or "weekly monday 08:00", on the user's own clock (users.timezone). */
export interface DigestSchedule {
  every: 'day' | 'week';
  /** HH:MM, 24 h. */
  at: string;
  /** For `every: 'week'`. */
  weekday?: Weekday;
}

export interface DigestWindow {
  /** fixed: closes `seconds` after the first item; sliding: `seconds` after the latest, never later than `maxSeconds` after the first. */
  mode: 'fixed' | 'sliding';
  seconds: number;
  maxSeconds?: number;
}

export interface DigestSpec {
  /** A `data` field whose value splits a user's digests (e.g. accountLast4); absent: one digest per user and type. */
  key?: string;
  /** Exactly one of window and schedule. */
  window?: DigestWindow;
  schedule?: DigestSchedule;
  /** The digest goes early once this many items wait. */
  maxItems?: number;
  /** The first item of a window goes out at once as an ordinary notification; the rest are digested. */
  firstImmediately?: boolean;
  /** Which items the message lists (the count and totals cover all): the first or the last `count`. */
  list?: { show: 'first' | 'last'; count: number };
}

/** What a category without a declared digest gets when the user chose "daily digest". */
export const DEFAULT_USER_DIGEST: DigestSpec = { schedule: { every: 'day', at: '19:00' } };

/** Items listed when the declaration does not say. */
export const DEFAULT_LIST = { show: 'last', count: 10 } as const;
