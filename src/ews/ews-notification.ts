import { z } from 'zod';

import {
  attribute,
  buildXml,
  child,
  children,
  MESSAGES_NS,
  parseXml,
  SOAP_NS,
  text,
  XmlSyntaxError,
  type XmlNode,
} from './ews-xml.js';

/** Event elements a push notification can carry. */
const EVENT_NAMES = [
  'NewMailEvent',
  'CreatedEvent',
  'ModifiedEvent',
  'MovedEvent',
  'CopiedEvent',
  'DeletedEvent',
  'StatusEvent',
  'FreeBusyChangedEvent',
] as const;

/** Name of an event element in a push notification. */
export type PushEventType = (typeof EVENT_NAMES)[number];

/** Maximum events read from one SendNotification. Exchange sends a few per request. */
export const MAX_PUSH_EVENTS = 1000;

const optionalId = z.string().min(1).max(1024).optional();

const eventSchema = z.object({
  type: z.enum(EVENT_NAMES),
  watermark: z.string().min(1).max(1024).optional(),
  timeStamp: z.iso.datetime({ offset: true }).optional(),
  itemId: optionalId,
  folderId: optionalId,
  parentFolderId: optionalId,
});

/** One event of a push notification. */
export type PushEvent = z.infer<typeof eventSchema>;

const notificationSchema = z.object({
  subscriptionId: z.string().min(1).max(512),
  previousWatermark: z.string().min(1).max(1024).optional(),
  events: z.array(eventSchema).max(MAX_PUSH_EVENTS),
  /** Response codes of response messages that are not `Success`. */
  errorCodes: z.array(z.string().max(100)).max(100),
});

/** A SendNotification request, validated. */
export type PushNotification = z.infer<typeof notificationSchema>;

/** Thrown by {@link readSendNotification} for a body that is not a valid SendNotification. */
export class InvalidNotificationError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'InvalidNotificationError';
  }
}

/**
 * Parses the SOAP envelope of a SendNotification request that Exchange posts to a push
 * subscription's callback URL. Every response message must name the same subscription.
 * @throws InvalidNotificationError for malformed XML, a DOCTYPE, another operation, several
 *   subscriptions in one request, or values that fail validation. The message never contains
 *   values from the body.
 * @see https://learn.microsoft.com/exchange/client-developer/web-service-reference/sendnotification
 */
export function readSendNotification(document: string): PushNotification {
  let root: XmlNode;
  try {
    root = parseXml(document);
  } catch (error) {
    const reason = error instanceof XmlSyntaxError ? error.message : 'XML could not be parsed';
    throw new InvalidNotificationError(reason, { cause: error });
  }
  const body = child(child(root, 'Envelope'), 'Body');
  const list = child(child(body, 'SendNotification'), 'ResponseMessages');
  const messages = children(list, 'SendNotificationResponseMessage');
  if (messages.length === 0) {
    throw new InvalidNotificationError('body is not a SendNotification with response messages');
  }

  const subscriptionIds = new Set<string>();
  const events: unknown[] = [];
  const errorCodes: string[] = [];
  let previousWatermark: string | undefined;
  for (const message of messages) {
    if (attribute(message, 'ResponseClass') !== 'Success') {
      errorCodes.push(text(message, 'ResponseCode') ?? 'unknown');
    }
    const notification = child(message, 'Notification');
    const id = text(notification, 'SubscriptionId');
    if (id !== undefined) {
      subscriptionIds.add(id);
    }
    previousWatermark ??= text(notification, 'PreviousWatermark') || undefined;
    for (const type of EVENT_NAMES) {
      for (const event of children(notification, type)) {
        events.push(toEvent(type, event));
      }
    }
  }
  if (subscriptionIds.size !== 1) {
    throw new InvalidNotificationError('SendNotification must name exactly one SubscriptionId');
  }
  const parsed = notificationSchema.safeParse({
    subscriptionId: [...subscriptionIds][0],
    previousWatermark,
    events,
    errorCodes,
  });
  if (!parsed.success) {
    const paths = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.')))];
    throw new InvalidNotificationError(`SendNotification is invalid at ${paths.join(', ')}`);
  }
  return parsed.data;
}

/**
 * Returns the watermark of the newest event, by TimeStamp (a StatusEvent has none and counts as
 * newest), or undefined when no event carries one. The parser groups events by type, so among
 * events with the same TimeStamp the choice follows EVENT_NAMES, not document order.
 */
export function latestWatermark(events: readonly PushEvent[]): string | undefined {
  let best: { watermark: string; at: number } | undefined;
  for (const event of events) {
    if (event.watermark === undefined) continue;
    const at =
      event.timeStamp === undefined ? Number.POSITIVE_INFINITY : Date.parse(event.timeStamp);
    if (best === undefined || at >= best.at) {
      best = { watermark: event.watermark, at };
    }
  }
  return best?.watermark;
}

/** Returns the SOAP response to a SendNotification: keep the subscription, or end it. */
export function buildSendNotificationResult(status: 'OK' | 'Unsubscribe'): string {
  const envelope: XmlNode = {
    'soap:Envelope': {
      '@_xmlns:soap': SOAP_NS,
      'soap:Body': {
        SendNotificationResult: {
          '@_xmlns': MESSAGES_NS,
          SubscriptionStatus: status,
        },
      },
    },
  };
  return `<?xml version="1.0" encoding="utf-8"?>${buildXml(envelope)}`;
}

function toEvent(type: PushEventType, node: XmlNode): Record<string, unknown> {
  return {
    type,
    watermark: text(node, 'Watermark') || undefined,
    timeStamp: text(node, 'TimeStamp') || undefined,
    itemId: attribute(child(node, 'ItemId'), 'Id'),
    folderId: attribute(child(node, 'FolderId'), 'Id'),
    parentFolderId: attribute(child(node, 'ParentFolderId'), 'Id'),
  };
}
