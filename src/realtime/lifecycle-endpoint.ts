import type { ApiRequest, ApiResponse, HandlerContext } from '../functions-host/registry.js';
import type { CatchUpJob } from '../queue/jobs.js';
import { toError } from '../shared/errors.js';
import type { NotificationClock } from './notification-clock.js';
import {
  checkClientState,
  DropTally,
  matchResourceUser,
  notificationItemSchema,
  readGraphPost,
  parseResourceUser,
  type NotificationItem,
} from './notification-payload.js';
import { toLogger, type RealtimeServices } from './services.js';
import { SubscriptionManager } from './subscription-manager.js';
import type { SubscriptionRecord } from './subscription-store.js';

/** An authentic lifecycle event with its subscription. */
interface LifecycleEvent {
  event: 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';
  record: SubscriptionRecord;
}

const KNOWN_EVENTS = new Set(['reauthorizationRequired', 'subscriptionRemoved', 'missed']);

/**
 * Handles `POST /api/graph/lifecycle`. `missed` enqueues a catch-up job for the mailbox, in one
 * send for the whole request, and a failed send returns 503 so that Graph retries.
 * `reauthorizationRequired` reauthorizes the subscription, or renews it when that fails.
 * `subscriptionRemoved` creates a new subscription if the manager lease is free, and otherwise
 * leaves it to the sync timer. Items are checked like change notifications.
 */
export async function handleGraphLifecycle(
  request: ApiRequest,
  context: HandlerContext,
  loadServices: () => Promise<RealtimeServices>,
  clock: NotificationClock,
): Promise<ApiResponse> {
  const post = readGraphPost(request, context, 'lifecycle');
  if ('response' in post) {
    return post.response;
  }
  const { items } = post;
  const services = await loadServices();
  const tally = new DropTally();
  const events = await authenticateEvents(items, services, tally);
  for (const entry of tally.entries()) {
    context.log('warn', 'Graph lifecycle notifications dropped', { ...entry });
  }

  const catchUps = catchUpJobs(events, services.now());
  if (catchUps.length > 0) {
    try {
      await services.queue.send(catchUps);
    } catch (thrown) {
      context.log('error', 'Enqueueing catch-up jobs failed; Graph will retry', {
        jobs: catchUps.length,
        error: toError(thrown).message,
      });
      return {
        status: 503,
        headers: { 'retry-after': '10' },
        json: { error: 'Queue unavailable' },
      };
    }
  }
  await clock.record(new Set(events.map((e) => e.record.mailbox)), services, context);
  await actOnSubscriptionEvents(events, services, context);
  context.log('info', 'Graph lifecycle notifications handled', {
    items: items.length,
    events: events.length,
    catchUpJobs: catchUps.length,
    dropped: tally.total,
  });
  return { status: 202 };
}

async function authenticateEvents(
  items: unknown[],
  services: RealtimeServices,
  tally: DropTally,
): Promise<LifecycleEvent[]> {
  const parsed = items.map((item) => notificationItemSchema.safeParse(item));
  const ids = parsed.flatMap((result) => (result.success ? [result.data.subscriptionId] : []));
  const records = await services.subscriptionCache.getMany(ids);
  const events: LifecycleEvent[] = [];
  for (const result of parsed) {
    if (!result.success) {
      tally.add('malformed');
      continue;
    }
    const item = result.data;
    const record = records.get(item.subscriptionId);
    const problem = checkClientState(item, record) ?? checkLifecycleItem(item, record);
    if (problem !== undefined || record === undefined) {
      tally.add(problem ?? 'unknown-subscription', item.subscriptionId);
      continue;
    }
    events.push({ event: item.lifecycleEvent as LifecycleEvent['event'], record });
  }
  return events;
}

function checkLifecycleItem(item: NotificationItem, record: SubscriptionRecord | undefined) {
  if (item.lifecycleEvent === undefined || !KNOWN_EVENTS.has(item.lifecycleEvent)) {
    return 'unexpected-lifecycle-event' as const;
  }
  // Lifecycle items may name the subscription's resource; when they do, it must be this mailbox.
  const user = item.resource === undefined ? undefined : parseResourceUser(item.resource);
  if (item.resource !== undefined && (user === undefined || record === undefined)) {
    return 'resource-mismatch' as const;
  }
  if (user !== undefined && record !== undefined && !matchResourceUser(user, record).matches) {
    return 'resource-mismatch' as const;
  }
  return undefined;
}

function catchUpJobs(events: readonly LifecycleEvent[], now: Date): CatchUpJob[] {
  const mailboxes = new Set(
    events.filter((e) => e.event === 'missed').map((e) => e.record.mailbox),
  );
  const enqueuedAt = now.toISOString();
  return [...mailboxes].map((mailbox) => ({
    kind: 'catch-up',
    mailbox,
    reason: 'missed',
    enqueuedAt,
  }));
}

async function actOnSubscriptionEvents(
  events: readonly LifecycleEvent[],
  services: RealtimeServices,
  context: HandlerContext,
): Promise<void> {
  // One attempt each, without the backoff delays: Graph expects a prompt response, and the sync
  // timer retries whatever fails here.
  const manager = new SubscriptionManager({ ...services, retryDelaysMs: [] }, toLogger(context));
  for (const { event, record } of events) {
    if (event === 'missed') continue;
    try {
      const mailbox = await services.mailboxes.get(record.mailbox);
      if (mailbox === undefined || mailbox.subscriptionId !== record.subscriptionId) {
        continue;
      }
      if (event === 'reauthorizationRequired') {
        await manager.reauthorize(mailbox, record.subscriptionId);
      } else {
        await recreateUnderLease(services, manager, mailbox, context);
      }
    } catch (error) {
      // The sync timer repairs whatever this leaves undone.
      context.log('error', 'Acting on a lifecycle notification failed', {
        event,
        subscriptionId: record.subscriptionId,
        error: toError(error).message,
      });
    }
  }
}

async function recreateUnderLease(
  services: RealtimeServices,
  manager: SubscriptionManager,
  mailbox: Parameters<SubscriptionManager['create']>[0],
  context: HandlerContext,
): Promise<void> {
  const lease = await services.managerLease.tryAcquire();
  if (lease === undefined) {
    context.log('info', 'Subscription recreation deferred to the sync: lease held', {
      subscriptionId: mailbox.subscriptionId,
    });
    return;
  }
  try {
    await manager.create(mailbox);
  } finally {
    await lease.release();
  }
}
