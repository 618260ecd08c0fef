import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  isCancellation,
  type ActivityOptions,
  type LocalActivityOptions,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { ChannelAttr, DeliveryStatusAttr } from './search-attributes.js';
import { statusWebhookWorkflowId } from './ids.js';
import { statusWebhookWorkflow } from './status-webhook.js';
import { finalDetails, statusWebhookSummary, waitingForIp, waitingForQuietHours, waitingForSendAt, type SentVia } from './summaries.js';
import type { CancelResult, Channel, ChannelResult, NotificationInput, NotificationStatus, NotificationProgress } from './types.js';
import type { LateStatus } from '../domain/notifications/status.js';

// Message-handling API: the API imports these definitions, never their string names.
export const statusQuery = defineQuery<NotificationProgress>('status');
export const cancelUpdate = defineUpdate<CancelResult>('cancel');
export const cancelSignal = defineSignal('cancel');
/** A bounce or complaint of the delivered e-mail, learnt while this workflow is still open. */
export const lateOutcomeSignal = defineSignal<[LateStatus]>('lateOutcome');

// Plan, render and completion are short Postgres steps: as local activities they run inside the
// workflow task that needs them, which saves a server round trip and a workflow task each
// (measured in BENCHMARKS.md). They are idempotent, so retried until the database is back.
const DB_LOCAL: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 ms', maximumInterval: '30 seconds', nonRetryableErrorTypes: ['TemplateError', 'NotFound'] },
};
const dbLocal = proxyLocalActivities<Activities>(DB_LOCAL);

// Audit appends are short local writes; a local activity spares a round trip to the server.
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 ms', maximumInterval: '10 seconds' },
});

// Sends: transient SMTP 4xx / FCM UNAVAILABLE are retried with backoff for about half an hour,
// then the alert is late enough that the other channel serves the user better. Permanent
// failures are thrown non-retryable by the activity and go straight to fallback.
const SEND: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  // Sends heartbeat every 3 s: a worker that dies mid-send is noticed in 15 s and the send retried.
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10 },
};
const send = proxyActivities<Activities>(SEND);

/** One user notification: decide channels, render, send, fall back, record every step. */
export async function notificationWorkflow(input: NotificationInput): Promise<NotificationProgress> {
  const { notificationId, tenantId } = input;
  const progress: NotificationProgress = { status: 'running', channels: [], results: [] };
  let cancelRequested = false;
  const sendScope = new CancellationScope();

  const requestCancel = (): void => {
    if (!cancellable(progress.status) || anyDelivered(progress.results)) return;
    cancelRequested = true;
    sendScope.cancel();
  };
  setHandler(statusQuery, () => progress);
  setHandler(cancelSignal, requestCancel);
  let lateStatus: LateStatus | undefined;
  setHandler(lateOutcomeSignal, (status) => {
    lateStatus = status;
    // Already closed as delivered by e-mail alone: the shown status follows at once.
    if (progress.status === 'delivered' && emailOnly(progress.results)) setStatus(status);
  });
  setHandler(
    cancelUpdate,
    async () => {
      requestCancel();
      await condition(() => !cancellable(progress.status));
      return { cancelled: progress.status === 'cancelled', status: progress.status };
    },
    {
      validator: () => {
        if (!cancellable(progress.status) || anyDelivered(progress.results)) {
          throw new Error(`Notification can no longer be cancelled: it is ${progress.status}`);
        }
      },
    },
  );

  const setStatus = (status: NotificationStatus): void => {
    progress.status = status;
    // The channels ride along: each upsert is a billed Temporal action, so there is none between
    // the start (which set DeliveryStatus accepted or scheduled) and the outcome.
    upsertSearchAttributes([
      { key: DeliveryStatusAttr, value: status },
      ...(progress.channels.length ? [{ key: ChannelAttr, value: progress.channels }] : []),
    ]);
  };
  /** Holds on a durable timer until `at` (the app's sendAt, the end of quiet hours); false when cancelled meanwhile. */
  const holdUntil = async (at: number, why: string): Promise<boolean> => {
    if (!(at > Date.now())) return true;
    setStatus('scheduled');
    setCurrentDetails(why);
    try {
      await sendScope.run(() => sleep(at - Date.now(), { summary: why }));
      return true;
    } catch (err) {
      if (cancelRequested && isCancellation(err)) return false;
      throw err;
    }
  };
  const cancelledWhileScheduled = async (): Promise<NotificationProgress> => {
    await CancellationScope.nonCancellable(() =>
      dbLocal.completeNotification({ notificationId, tenantId, status: 'cancelled', deliveredChannels: [] }),
    );
    setStatus('cancelled');
    setCurrentDetails(finalDetails('cancelled', []));
    return progress;
  };
  if (input.sendAt && !(await holdUntil(Date.parse(input.sendAt), waitingForSendAt(Date.parse(input.sendAt))))) return cancelledWhileScheduled();

  // Lean steps: plan and render in one local activity, the search attributes set once at the
  // end, and a sole channel's send also books the final status (see BENCHMARKS.md).
  setCurrentDetails('deciding channels and rendering');
  const plan = await dbLocal.prepareDelivery.executeWithOptions({ ...DB_LOCAL, summary: 'decide channels, render' }, [{ notificationId }]);
  if (plan.kind === 'send' && plan.notBefore) {
    // Inside the user's quiet hours (not for mandatory categories): wait until they end.
    if (!(await holdUntil(plan.notBefore, waitingForQuietHours(plan.notBefore, plan.quietEnd)))) return cancelledWhileScheduled();
    await local.resumeScheduled({ notificationId });
  }
  if (plan.kind === 'skipped') {
    progress.reason = plan.reason;
    setStatus('skipped');
    await dbLocal.completeNotification({ notificationId, tenantId, status: 'skipped', deliveredChannels: [], reason: plan.reason });
    setCurrentDetails(`${finalDetails('skipped', [])}\nreason: ${plan.reason}`);
    return progress;
  }
  // What each channel's send went through, for the details the Temporal UI shows.
  const templateVersions: Partial<Record<Channel, number>> = { ...plan.templateVersions };
  const sends: SentVia[] = [];
  progress.channels = [...plan.channels];
  // prepareDelivery rendered the chosen channels; a fallback channel is rendered when needed.
  const rendered = new Set<Channel>(plan.channels);
  // With one channel, its success is the outcome: the send's own write records it.
  const deliveryCompletes = plan.channels.length === 1;
  let completion: { statusWebhook: boolean } | undefined;

  const deliver = async (channel: Channel, fallback: boolean): Promise<ChannelResult> => {
    const via: SentVia = { channel, outcome: 'sending' };
    sends.push(via);
    const label = `${channel === 'email' ? 'e-mail' : 'push'}${fallback ? ' (fallback)' : ''}`;
    const result = (r: ChannelResult): ChannelResult => {
      via.outcome = r.outcome;
      if (templateVersions[channel] !== undefined) via.templateVersion = templateVersions[channel];
      return r;
    };
    try {
      await sendScope.run(async () => {
        if (!rendered.has(channel)) {
          const r = await dbLocal.renderMessage.executeWithOptions({ ...DB_LOCAL, summary: `render ${label}` }, [{ notificationId, channel }]);
          templateVersions[channel] = r.templateVersion;
        }
        setCurrentDetails(`sending ${label}`);
        if (channel === 'push') {
          const sent = await send.sendPush.executeWithOptions({ ...SEND, summary: `send ${label}` }, [{ notificationId, deliveryCompletes }]);
          completion = sent.completion ?? completion;
          return;
        }
        // No IP may send to this provider now: wait on a durable timer until the earliest may,
        // however far off (the activity gives up past the category's maximum age), then try again.
        for (;;) {
          const sent = await send.sendEmail.executeWithOptions({ ...SEND, summary: `send ${label}` }, [{ notificationId, deliveryCompletes }]);
          if (!('waitUntil' in sent)) {
            completion = sent.completion ?? completion;
            if (sent.sourceIp) via.sourceIp = sent.sourceIp;
            if (sent.provider) via.provider = sent.provider;
            return;
          }
          const waiting = waitingForIp(sent.waitUntil, sent.provider);
          setCurrentDetails(waiting);
          await sleep(Math.max(1_000, sent.waitUntil - Date.now()), { summary: waiting });
          setCurrentDetails(`sending ${label}`);
        }
      });
      return result({ channel, outcome: 'delivered', fallback });
    } catch (err) {
      if (cancelRequested && isCancellation(err)) return result({ channel, outcome: 'cancelled', fallback });
      const error = describeFailure(err);
      // A suppressed address got nothing: recorded as such, and the other channel may serve.
      return result({ channel, outcome: error.type === 'Suppressed' ? 'suppressed' : 'failed', fallback, error });
    }
  };

  // Every chosen channel at once (a user who wants both gets both).
  progress.results = await Promise.all(plan.channels.map((c) => deliver(c, false)));

  // Fallback: one at a time, only while nothing has reached the user.
  for (const channel of plan.fallback) {
    if (anyDelivered(progress.results) || cancelRequested) break;
    await local.recordAudit({ tenantId, notificationId, step: 'fallback', detail: { to: channel } });
    progress.channels.push(channel);
    progress.results.push(await deliver(channel, true));
  }

  const delivered = progress.results.filter((r) => r.outcome === 'delivered').map((r) => r.channel);
  const allSuppressed = progress.results.length > 0 && progress.results.every((r) => r.outcome === 'suppressed');
  const outcome: NotificationStatus = delivered.length > 0 ? 'delivered' : cancelRequested ? 'cancelled' : allSuppressed ? 'suppressed' : 'failed';
  // The e-mail that reached the user bounced or drew a complaint before this workflow closed.
  const final: NotificationStatus = outcome === 'delivered' && lateStatus && emailOnly(progress.results) ? lateStatus : outcome;
  const reason =
    final === 'failed' || final === 'suppressed'
      ? progress.results.map((r) => `${r.channel}: ${r.error?.message ?? r.outcome}`).join('; ')
      : undefined;
  // The completion write must happen even after a cancel, so it runs outside the cancelled scope.
  if (!completion || final !== 'delivered') {
    completion = await CancellationScope.nonCancellable(() =>
      dbLocal.completeNotification({ notificationId, tenantId, status: final, deliveredChannels: delivered, reason }),
    );
  }
  progress.reason = reason;
  setStatus(final);
  setCurrentDetails(finalDetails(final, sends));
  if (completion?.statusWebhook && (final === 'delivered' || final === 'suppressed' || final === 'failed')) {
    // Its own workflow, abandoned on close: a slow tenant endpoint never holds this one open.
    await startChild(statusWebhookWorkflow, {
      workflowId: statusWebhookWorkflowId(notificationId, final),
      args: [{ tenantId, notificationId, outcome: final }],
      staticSummary: statusWebhookSummary(final),
      staticDetails: `**notification** ${notificationId}\n**tenant** ${tenantId}`,
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  }
  return progress;
}

/** Nothing has gone out yet: a cancel may still stop it. */
function cancellable(status: NotificationStatus): boolean {
  return status === 'running' || status === 'scheduled';
}

function emailOnly(results: ChannelResult[]): boolean {
  const delivered = results.filter((r) => r.outcome === 'delivered');
  return delivered.length === 1 && delivered[0]!.channel === 'email';
}

function anyDelivered(results: ChannelResult[]): boolean {
  return results.some((r) => r.outcome === 'delivered');
}

/** The activity's own failure type and message, as recorded in the history. */
function describeFailure(err: unknown): { type: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (cause instanceof Error) return { type: cause.name, message: cause.message };
  return { type: 'Error', message: String(cause) };
}
