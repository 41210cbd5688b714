import { z } from 'zod';

import type { ApiRequest, ApiResponse, HandlerContext } from '../functions-host/registry.js';
import { describeIssues } from '../shared/http-input.js';
import { clientStateMatches, type SubscriptionRecord } from './subscription-store.js';
import { answerValidationRequest } from './validation-token.js';

/** Largest notification or lifecycle request body accepted, in bytes. */
export const MAX_NOTIFICATION_BODY_BYTES = 1024 * 1024;

/** Maximum items in one request, a bound on the work one request can cause. */
const MAX_ITEMS = 1000;

/**
 * The body checked before any item is read. Items are checked one by one afterwards, so that one
 * malformed item is dropped without losing the others.
 */
const collectionSchema = z.object({ value: z.array(z.unknown()).min(1).max(MAX_ITEMS) });

/** One item of Graph's changeNotificationCollection, as far as mailsweep reads it. */
export const notificationItemSchema = z.object({
  subscriptionId: z.string().min(1).max(200),
  clientState: z.string().max(255).optional(),
  changeType: z.string().max(64).optional(),
  lifecycleEvent: z.string().max(64).optional(),
  resource: z.string().max(2048).optional(),
  resourceData: z.object({ id: z.string().max(2048).optional() }).optional(),
});

export type NotificationItem = z.infer<typeof notificationItemSchema>;

/**
 * A changeNotificationCollection as documented: the collection check with each item's schema.
 * An item that fails its schema is dropped and counted, and gets no 400.
 */
export const notificationCollectionSchema = collectionSchema.extend({
  value: z.array(notificationItemSchema).min(1).max(MAX_ITEMS),
});

/** Reason an item was dropped, logged with counts and never with the item's content. */
export type DropReason =
  | 'malformed'
  | 'unknown-subscription'
  | 'client-state-missing'
  | 'client-state-mismatch'
  | 'resource-mismatch'
  | 'unexpected-change-type'
  | 'unexpected-lifecycle-event';

/** Parses a request body into items, or returns why it is not a notification collection. */
export function parseCollection(body: Buffer): unknown[] | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { error: 'invalid body: must be JSON' };
  }
  const parsed = collectionSchema.safeParse(json);
  return parsed.success
    ? parsed.data.value
    : { error: `invalid body: ${describeIssues(parsed.error.issues)}` };
}

/** Checks an item's clientState against its subscription. */
export function checkClientState(
  item: NotificationItem,
  record: SubscriptionRecord | undefined,
): DropReason | undefined {
  if (record === undefined) {
    return 'unknown-subscription';
  }
  if (item.clientState === undefined || item.clientState === '') {
    return 'client-state-missing';
  }
  return clientStateMatches(item.clientState, record.clientStateHash)
    ? undefined
    : 'client-state-mismatch';
}

/** A message resource path split into its user and message segments. */
export interface MessageResource {
  user: string;
  messageId: string;
}

// Graph writes `Users/{user}/Messages/{id}`; the OData form `Users('{user}')/Messages('{id}')`
// is accepted too. Ids are base64 variants, so the id charset is limited to those characters.
const MESSAGE_RESOURCE =
  /^\/?users(?:\/([^/()']{1,320})|\('([^/()']{1,320})'\))\/messages(?:\/([A-Za-z0-9+=_-]{1,1024})|\('([A-Za-z0-9+=_-]{1,1024})'\))$/i;

const USER_SEGMENT = /^\/?users(?:\/([^/()']{1,320})|\('([^/()']{1,320})'\))/i;

/** Splits a message resource path; undefined when it does not name one message. */
export function parseMessageResource(resource: string): MessageResource | undefined {
  const match = MESSAGE_RESOURCE.exec(resource);
  const user = match?.[1] ?? match?.[2];
  const messageId = match?.[3] ?? match?.[4];
  if (user === undefined || messageId === undefined) {
    return undefined;
  }
  return { user: decodeSegment(user), messageId };
}

/** Returns the user segment of any `users/...` resource path. */
export function parseResourceUser(resource: string): string | undefined {
  const match = USER_SEGMENT.exec(resource);
  const user = match?.[1] ?? match?.[2];
  return user === undefined ? undefined : decodeSegment(user);
}

const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Decides whether a resource's user segment names the subscription's mailbox. Graph names the
 * user by address or by Entra object id. When the object id is not yet known, the first
 * authenticated notification's id is accepted and returned as `learnedUserId` to be stored.
 */
export function matchResourceUser(
  user: string,
  record: SubscriptionRecord,
): { matches: boolean; learnedUserId?: string } {
  const lower = user.toLowerCase();
  if (lower === record.mailbox || lower === record.userId?.toLowerCase()) {
    return { matches: true };
  }
  // NOTE: trust on first use. Until the object id is stored (the directory client may resolve it
  // at creation), a notification that passed the clientState check pins whichever id it names.
  if (record.userId === undefined && OBJECT_ID.test(user)) {
    return { matches: true, learnedUserId: lower };
  }
  return { matches: false };
}

/** Counts dropped items by reason, for one summary log line per request. */
export class DropTally {
  private readonly counts = new Map<DropReason, { count: number; subscriptionIds: Set<string> }>();

  add(reason: DropReason, subscriptionId?: string): void {
    const entry = this.counts.get(reason) ?? { count: 0, subscriptionIds: new Set<string>() };
    entry.count += 1;
    // A few ids are enough to investigate; a flood of made-up ids must not flood the log.
    if (subscriptionId !== undefined && entry.subscriptionIds.size < 5) {
      entry.subscriptionIds.add(subscriptionId);
    }
    this.counts.set(reason, entry);
  }

  get total(): number {
    let total = 0;
    this.counts.forEach((entry) => (total += entry.count));
    return total;
  }

  /** Lists each reason with its count and up to five subscription ids. */
  entries(): { reason: DropReason; count: number; subscriptionIds: string }[] {
    return [...this.counts].map(([reason, entry]) => ({
      reason,
      count: entry.count,
      subscriptionIds: [...entry.subscriptionIds].join(','),
    }));
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Reads a POST from Graph: the validation request's answer, a 400 for a body that is not a
 * notification collection (logged with `kind` and the body size), or the collection's items.
 */
export function readGraphPost(
  request: ApiRequest,
  context: HandlerContext,
  kind: 'notification' | 'lifecycle',
): { response: ApiResponse } | { items: unknown[] } {
  const validation = answerValidationRequest(request);
  if (validation !== undefined) {
    return { response: validation };
  }
  const items = parseCollection(request.body);
  if (!Array.isArray(items)) {
    context.log('warn', `Graph ${kind} request rejected: not a notification collection`, {
      bodyBytes: request.body.length,
    });
    return {
      response: {
        status: 400,
        json: { error: `The body is not a Graph notification collection: ${items.error}` },
      },
    };
  }
  return { items };
}
