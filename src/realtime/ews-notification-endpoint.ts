import { z } from 'zod';

import type { ApiRequest, ApiResponse, HandlerContext } from '../functions-host/registry.js';
import {
  buildSendNotificationResult,
  InvalidNotificationError,
  latestWatermark,
  readSendNotification,
  type PushNotification,
} from '../ews/ews-notification.js';
import type { Job } from '../queue/jobs.js';
import { toError } from '../shared/errors.js';
import type { EwsPushServices } from './ews-push-services.js';
import type { EwsSubscriptionRecord } from './ews-subscription-store.js';
import { hashMailbox } from './mailbox-health.js';
import { NotificationClock } from './notification-clock.js';
import { isOnPremMonitored } from './on-prem-mailboxes.js';
import { clientStateMatches } from './subscription-store.js';

/** Maximum SendNotification body, in bytes. Exchange sends a few events per request. */
export const MAX_EWS_NOTIFICATION_BODY_BYTES = 1024 * 1024;

/** Query parameters of the callback URL: the row's callback id and the secret. */
export const CALLBACK_ID_PARAMETER = 'id';
export const CALLBACK_SECRET_PARAMETER = 'key';

/**
 * Query of the callback URL as documented. The secret is documented as a security scheme
 * instead. Neither is rejected with 400: an unknown id gets `Unsubscribe` and a wrong secret 401.
 */
export const ewsCallbackQuerySchema = z.object({
  [CALLBACK_ID_PARAMETER]: z
    .string()
    .optional()
    .meta({ description: 'Id of the subscription row that the callback URL names.' }),
});

/** Events that report a new item to scan. */
const NEW_ITEM_EVENTS = new Set(['NewMailEvent', 'CreatedEvent']);

const SOAP_HEADERS = { 'content-type': 'text/xml; charset=utf-8' };

/**
 * Handles `POST /api/ews/notifications`, where Exchange delivers push notifications. The body is
 * parsed and validated before storage is touched (malformed: 400). The callback URL's id names
 * the subscription row and its secret is checked against the stored SHA-256 in constant time
 * (mismatch: 401). Each new item becomes one scan-message job, all sent in one send (failure:
 * 503, so Exchange retries). Every other outcome is a SendNotificationResult: `OK`, or
 * `Unsubscribe` for a subscription mailsweep no longer keeps or a mailbox no longer monitored.
 */
export async function handleEwsNotification(
  request: ApiRequest,
  context: HandlerContext,
  loadServices: () => Promise<EwsPushServices>,
  clock = new NotificationClock(),
): Promise<ApiResponse> {
  let notification: PushNotification;
  try {
    notification = readSendNotification(request.body.toString('utf8'));
  } catch (error) {
    if (!(error instanceof InvalidNotificationError)) throw error;
    context.log('warn', 'EWS notification rejected: invalid SendNotification', {
      reason: error.message,
    });
    // The parser's messages name the element that failed and never contain values from the body.
    return { status: 400, json: { error: `Invalid SendNotification request: ${error.message}` } };
  }

  const services = await loadServices();
  const callbackId = request.url.searchParams.get(CALLBACK_ID_PARAMETER) ?? '';
  const record = await services.subscriptions.get(callbackId);
  const fields = { subscriptionId: notification.subscriptionId };
  if (record === undefined) {
    context.log('info', 'EWS notification for an unknown subscription; unsubscribing', fields);
    return answer('Unsubscribe');
  }

  const secret = request.url.searchParams.get(CALLBACK_SECRET_PARAMETER) ?? '';
  if (!clientStateMatches(secret, record.secretHash)) {
    context.log('warn', 'EWS notification rejected: wrong callback secret', fields);
    return { status: 401, json: { error: 'Invalid callback secret' } };
  }

  const stale = await staleReason(record, notification, services);
  if (stale !== undefined) {
    context.log('info', 'EWS subscription ended', { ...fields, reason: stale });
    if (stale === 'mailbox-not-monitored') {
      await services.subscriptions.delete(record.callbackId);
    }
    return answer('Unsubscribe');
  }
  return accept(record, notification, services, context, clock);
}

/** Returns why a subscription should end, or undefined when it stays. */
async function staleReason(
  record: EwsSubscriptionRecord,
  notification: PushNotification,
  services: EwsPushServices,
): Promise<'replaced' | 'mailbox-not-monitored' | undefined> {
  // A row without a SubscriptionId is still waiting for its Subscribe response. The secret
  // already proves that Subscribe sent this callback URL.
  const stored = record.subscriptionId;
  if (stored !== undefined && stored !== notification.subscriptionId) {
    return 'replaced';
  }
  const { settings, mailboxes } = services.realtime;
  if (!(await isOnPremMonitored(record.mailbox, settings, mailboxes))) {
    return 'mailbox-not-monitored';
  }
  return undefined;
}

async function accept(
  record: EwsSubscriptionRecord,
  notification: PushNotification,
  services: EwsPushServices,
  context: HandlerContext,
  clock: NotificationClock,
): Promise<ApiResponse> {
  const now = services.realtime.now();
  const jobs = toJobs(record.mailbox, notification, now);
  if (jobs.length > 0) {
    try {
      await services.realtime.queue.send(jobs);
    } catch (thrown) {
      context.log('error', 'Enqueueing EWS notification jobs failed; Exchange will retry', {
        subscriptionId: notification.subscriptionId,
        jobs: jobs.length,
        error: toError(thrown).message,
      });
      return {
        status: 503,
        headers: { 'retry-after': '30' },
        json: { error: 'Queue unavailable' },
      };
    }
  }
  const watermark = latestWatermark(notification.events);
  await services.subscriptions.recordNotification(record.callbackId, now, watermark);
  if (jobs.length > 0) {
    // Sets lastNotificationAt on the mailbox's row, if it has one, for GET /api/status.
    await clock.record([record.mailbox], services.realtime, context);
  }
  context.log('info', 'EWS notification accepted', {
    subscriptionId: notification.subscriptionId,
    mailboxHash: hashMailbox(record.mailbox),
    events: notification.events.length,
    jobs: jobs.length,
    errorCodes: notification.errorCodes.join(',') || undefined,
  });
  return answer('OK');
}

/**
 * Returns one scan-message job per new item, and a catch-up job when Exchange reported an error
 * in the notification, since events may then be missing.
 */
function toJobs(mailbox: string, notification: PushNotification, now: Date): Job[] {
  const enqueuedAt = now.toISOString();
  const itemIds = new Set<string>();
  for (const event of notification.events) {
    // NewMailEvent and CreatedEvent usually both report one delivered message.
    if (NEW_ITEM_EVENTS.has(event.type) && event.itemId !== undefined) {
      itemIds.add(event.itemId);
    }
  }
  const jobs: Job[] = [...itemIds].map((messageId) => ({
    kind: 'scan-message',
    mailbox,
    messageId,
    trigger: 'arrival',
    enqueuedAt,
  }));
  if (notification.errorCodes.length > 0) {
    jobs.push({ kind: 'catch-up', mailbox, reason: 'missed', enqueuedAt });
  }
  return jobs;
}

function answer(status: 'OK' | 'Unsubscribe'): ApiResponse {
  return { status: 200, headers: SOAP_HEADERS, body: buildSendNotificationResult(status) };
}
