// What the two deliveries (deliver-email.ts, deliver-push.ts) share: their input, what they tell
// the workflow, and what they need of the try they run in (an activity's, given by activities/).

export interface SendInput {
  notificationId: string;
  /**
   * True when this channel's delivery is the notification's outcome (it is the only channel
   * still in play): the send's own write then records the notification as delivered.
   */
  deliveryCompletes?: boolean;
}

/** What a send tells the workflow: when its delivery completed the notification, whether a status webhook follows. */
export interface SendResult {
  completion?: { statusWebhook: boolean };
}

/** The try a delivery runs in. */
export interface Attempt {
  /** This try's number, 1 for the first. */
  number: number;
  /** Runs `work`, telling the engine every few seconds that the worker is alive (a slow SMTP server is not a dead worker). */
  keepAlive<T>(work: () => Promise<T>): Promise<T>;
  /** Sleeps `ms`, then tells the engine the worker is alive. */
  pause(ms: number): Promise<void>;
}
