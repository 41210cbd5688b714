import type { ApiRequest, ApiResponse, HandlerContext } from '../functions-host/registry.js';
import type { ScanMessageJob } from '../queue/jobs.js';
import { toError } from '../shared/errors.js';
import {
  checkClientState,
  DropTally,
  matchResourceUser,
  notificationItemSchema,
  readGraphPost,
  parseMessageResource,
} from './notification-payload.js';
import type { RealtimeServices } from './services.js';
import type { NotificationClock } from './notification-clock.js';

/**
 * Handles `POST /api/graph/notifications`. After the validation request, it turns each authentic
 * `created` notification into one scan-message job and sends all jobs of a request in one send,
 * then returns 202. Nothing is fetched or scanned here, because Graph treats responses slower than
 * about 3 seconds as a failing endpoint. Items that fail a check are dropped and counted in one
 * log line per reason. A failed send returns 503, so that Graph retries.
 */
export async function handleGraphNotifications(
  request: ApiRequest,
  context: HandlerContext,
  loadServices: () => Promise<RealtimeServices>,
  clock: NotificationClock,
): Promise<ApiResponse> {
  const post = readGraphPost(request, context, 'notification');
  if ('response' in post) {
    return post.response;
  }
  const { items } = post;
  const services = await loadServices();
  const tally = new DropTally();
  const jobs = await toScanJobs(items, services, tally);

  if (jobs.length > 0) {
    try {
      await services.queue.send(jobs);
    } catch (thrown) {
      context.log('error', 'Enqueueing notification jobs failed; Graph will retry', {
        jobs: jobs.length,
        error: toError(thrown).message,
      });
      return {
        status: 503,
        headers: { 'retry-after': '10' },
        json: { error: 'Queue unavailable' },
      };
    }
    await clock.record(new Set(jobs.map((job) => job.mailbox)), services, context);
  }
  logSummary(context, items.length, jobs.length, tally);
  return { status: 202 };
}

async function toScanJobs(
  items: unknown[],
  services: RealtimeServices,
  tally: DropTally,
): Promise<ScanMessageJob[]> {
  const parsed = items.map((item) => notificationItemSchema.safeParse(item));
  const ids = parsed.flatMap((result) => (result.success ? [result.data.subscriptionId] : []));
  const records = await services.subscriptionCache.getMany(ids);
  const enqueuedAt = services.now().toISOString();
  const seen = new Set<string>();
  const jobs: ScanMessageJob[] = [];

  for (const result of parsed) {
    if (!result.success) {
      tally.add('malformed');
      continue;
    }
    const item = result.data;
    const record = records.get(item.subscriptionId);
    const stateProblem = checkClientState(item, record);
    if (stateProblem !== undefined || record === undefined) {
      tally.add(stateProblem ?? 'unknown-subscription', item.subscriptionId);
      continue;
    }
    if (item.lifecycleEvent !== undefined) {
      tally.add('unexpected-lifecycle-event', item.subscriptionId);
      continue;
    }
    if (item.changeType !== 'created') {
      tally.add('unexpected-change-type', item.subscriptionId);
      continue;
    }
    const resource = item.resource === undefined ? undefined : parseMessageResource(item.resource);
    const dataId = item.resourceData?.id;
    if (resource === undefined || (dataId !== undefined && dataId !== resource.messageId)) {
      tally.add('resource-mismatch', item.subscriptionId);
      continue;
    }
    const match = matchResourceUser(resource.user, record);
    if (!match.matches) {
      tally.add('resource-mismatch', item.subscriptionId);
      continue;
    }
    if (match.learnedUserId !== undefined) {
      const pinned = { ...record, userId: match.learnedUserId };
      await pinUserId(services, pinned);
      // Later items of this request are checked against the pinned id.
      records.set(record.subscriptionId, pinned);
    }
    // Graph may repeat a notification within one request; one job is enough.
    const key = `${record.mailbox}\n${resource.messageId}`;
    if (seen.has(key)) {
      continue;
    }
    seen.add(key);
    jobs.push({
      kind: 'scan-message',
      mailbox: record.mailbox,
      messageId: resource.messageId,
      trigger: 'arrival',
      subscriptionId: record.subscriptionId,
      enqueuedAt,
    });
  }
  return jobs;
}

async function pinUserId(
  services: RealtimeServices,
  record: Parameters<RealtimeServices['subscriptions']['put']>[0],
): Promise<void> {
  await services.subscriptions.put(record);
  services.subscriptionCache.forget(record.subscriptionId);
}

function logSummary(context: HandlerContext, items: number, jobs: number, tally: DropTally): void {
  for (const entry of tally.entries()) {
    context.log('warn', 'Graph notifications dropped', { ...entry });
  }
  context.log('info', 'Graph notifications accepted', { items, jobs, dropped: tally.total });
}
