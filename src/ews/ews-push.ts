import { z } from 'zod';

import type { FolderRef, MailboxName } from '../mailbox/mailbox-client.js';
import { ScannerError } from '../shared/errors.js';
import { expectSuccess, folderElement } from './ews-shapes.js';
import type { EwsTransport } from './ews-transport.js';
import { text, type XmlNode } from './ews-xml.js';

/**
 * Events mailsweep subscribes to. NewMailEvent fires for mail that transport delivers, and
 * CreatedEvent also for items created in a watched folder by other means (an Inbox rule or a
 * junk filter moving mail in). ModifiedEvent is left out, because mailsweep's own tagging would
 * then notify it again about every message it tags.
 */
export const PUSH_EVENT_TYPES = ['NewMailEvent', 'CreatedEvent'] as const;

/** Request of {@link EwsPushClient.subscribe}. */
export interface PushSubscribeRequest {
  mailbox: MailboxName;
  /** Folders to watch; Exchange reports events in these folders only. */
  folders: readonly FolderRef[];
  /** Callback URL Exchange posts SendNotification requests to. */
  url: string;
  /** Minutes between keep-alives, and how long a failed delivery is retried (1 to 1440). */
  statusFrequencyMinutes: number;
}

/** A push subscription Exchange created. */
export interface PushSubscription {
  subscriptionId: string;
  /** Bookmark in the mailbox's event table at the time of subscribing. */
  watermark?: string;
}

const subscribeResultSchema = z.object({
  subscriptionId: z.string().min(1).max(512),
  watermark: z.string().min(1).max(1024).optional(),
});

/**
 * EWS push notification subscriptions, sent through the EWS client's transport (impersonation,
 * concurrency limit and ErrorServerBusy backoff included).
 *
 * Exchange has no operation that ends a push subscription: Unsubscribe accepts pull and streaming
 * subscriptions only and returns ErrorInvalidSubscription for push. A push subscription ends when
 * the callback answers a SendNotification with SubscriptionStatus `Unsubscribe`, or when its
 * deliveries keep failing for StatusFrequency minutes.
 * @see https://learn.microsoft.com/exchange/client-developer/web-service-reference/subscribe-operation
 * @see https://learn.microsoft.com/exchange/client-developer/web-service-reference/unsubscribe-operation
 */
export class EwsPushClient {
  constructor(private readonly transport: EwsTransport) {}

  /**
   * Creates a push subscription on the mailbox, under impersonation.
   * @throws ScannerError with the transport's codes, or `mailbox-request-failed` when the
   *   response has no SubscriptionId.
   */
  async subscribe(request: PushSubscribeRequest): Promise<PushSubscription> {
    const frequency = request.statusFrequencyMinutes;
    if (!Number.isInteger(frequency) || frequency < 1 || frequency > 1440) {
      throw new ScannerError('config-invalid', 'StatusFrequency must be 1 to 1440 minutes', {
        fields: { statusFrequencyMinutes: frequency },
      });
    }
    const result = await this.transport.call({
      operation: 'subscribe',
      mailbox: request.mailbox,
      body: {
        'm:Subscribe': {
          'm:PushSubscriptionRequest': {
            't:FolderIds': folderIds(request.folders),
            't:EventTypes': { 't:EventType': [...PUSH_EVENT_TYPES] },
            't:StatusFrequency': String(frequency),
            't:URL': request.url,
          },
        },
      },
    });
    const message = expectSuccess(result.messages, 'subscribe');
    const parsed = subscribeResultSchema.safeParse({
      subscriptionId: text(message, 'SubscriptionId'),
      watermark: text(message, 'Watermark') || undefined,
    });
    if (!parsed.success) {
      throw new ScannerError(
        'mailbox-request-failed',
        'EWS Subscribe response has no SubscriptionId',
        { fields: { operation: 'subscribe' } },
      );
    }
    return parsed.data;
  }
}

/** Groups folder elements by name, so that FolderIds contains each kind as repeated children. */
function folderIds(folders: readonly FolderRef[]): XmlNode {
  const grouped: Record<string, XmlNode[]> = {};
  for (const folder of folders) {
    for (const [name, value] of Object.entries(folderElement(folder))) {
      (grouped[name] ??= []).push(value as XmlNode);
    }
  }
  return grouped;
}
