import { randomUUID } from 'node:crypto';

import type {
  CreateSubscriptionRequest,
  DirectoryClient,
  GraphSubscription,
  SubscriptionClient,
} from '../../src/graph/subscription-client.js';
import type { UserIdResolver } from '../../src/realtime/services.js';
import { ScannerError } from '../../src/shared/errors.js';

/** Graph's limit for Outlook message subscriptions, in minutes. */
const MAX_LIFETIME_MINUTES = 4230;

/** Graph waits this long for the validation response. */
const VALIDATION_TIMEOUT_MS = 10_000;

interface StoredSubscription extends GraphSubscription {
  mailbox: string;
  clientState: string;
}

/**
 * An in-memory stand-in for Graph's /subscriptions and group member listing, for tests. Like
 * Graph, it assigns ids and rejects expiries past 4,230 minutes. On create it POSTs a validation
 * request to the notification and lifecycle URLs, and on renew to the notification URL. Each
 * fails unless the endpoint echoes the token as text/plain with 200. It can also deliver change
 * and lifecycle notifications to the subscription's URLs the way Graph does.
 */
export class InMemoryGraph implements SubscriptionClient, DirectoryClient, UserIdResolver {
  readonly subscriptions = new Map<string, StoredSubscription>();
  readonly groups = new Map<string, string[]>();
  readonly onPremises = new Set<string>();
  /** Addresses with no user in the directory: looking them up fails with 404, as in Graph. */
  readonly unknownUsers = new Set<string>();
  readonly calls: string[] = [];
  /** Object ids of users, by address; created on first use. */
  private readonly userIds = new Map<string, string>();
  /** Failures to throw from the next create calls, in order. */
  createFailures: Error[] = [];
  renewFailures: Error[] = [];
  reauthorizeFailures: Error[] = [];
  /** Current time, moved by tests. */
  now = (): Date => new Date();

  async createSubscription(request: CreateSubscriptionRequest): Promise<GraphSubscription> {
    this.calls.push(`create ${request.mailbox}`);
    const failure = this.createFailures.shift();
    if (failure !== undefined) throw failure;
    if (this.onPremises.has(request.mailbox)) {
      throw new ScannerError('mailbox-on-premises', 'MailboxNotEnabledForRESTAPI');
    }
    this.checkExpiry(request.expiration);
    await validateEndpoint(request.notificationUrl);
    await validateEndpoint(request.lifecycleNotificationUrl);
    const subscription: StoredSubscription = {
      id: randomUUID(),
      resource: `users/${request.mailbox}/messages`,
      changeType: 'created',
      notificationUrl: request.notificationUrl,
      lifecycleNotificationUrl: request.lifecycleNotificationUrl,
      expirationDateTime: request.expiration.toISOString(),
      mailbox: request.mailbox,
      clientState: request.clientState,
    };
    this.subscriptions.set(subscription.id, subscription);
    return publicView(subscription);
  }

  async renewSubscription(id: string, expiration: Date): Promise<GraphSubscription> {
    this.calls.push(`renew ${id}`);
    const failure = this.renewFailures.shift();
    if (failure !== undefined) throw failure;
    const subscription = this.requireLive(id);
    this.checkExpiry(expiration);
    await validateEndpoint(subscription.notificationUrl);
    subscription.expirationDateTime = expiration.toISOString();
    return publicView(subscription);
  }

  async reauthorizeSubscription(id: string): Promise<void> {
    this.calls.push(`reauthorize ${id}`);
    const failure = this.reauthorizeFailures.shift();
    if (failure !== undefined) throw failure;
    this.requireLive(id);
  }

  async deleteSubscription(id: string): Promise<void> {
    this.calls.push(`delete ${id}`);
    if (!this.subscriptions.delete(id)) {
      throw new ScannerError('mailbox-not-found', 'Subscription not found');
    }
  }

  async listSubscriptions(): Promise<GraphSubscription[]> {
    return [...this.subscriptions.values()]
      .filter((subscription) => Date.parse(subscription.expirationDateTime) > this.now().getTime())
      .map(publicView);
  }

  async listGroupMailboxes(groupId: string): Promise<string[]> {
    const members = this.groups.get(groupId);
    if (members === undefined) {
      throw new ScannerError('mailbox-not-found', 'Group not found');
    }
    return [...members];
  }

  async resolveUserId(mailbox: string): Promise<string> {
    if (this.unknownUsers.has(mailbox)) {
      throw new ScannerError('mailbox-request-failed', 'Graph rejected the request', {
        fields: { status: 404, graphCode: 'Request_ResourceNotFound', operation: 'resolve-user-id' },
      });
    }
    return this.userIdOf(mailbox);
  }

  /** Returns the Entra object id of a user, as Graph names it in notification resources. */
  userIdOf(mailbox: string): string {
    let id = this.userIds.get(mailbox);
    if (id === undefined) {
      id = randomUUID();
      this.userIds.set(mailbox, id);
    }
    return id;
  }

  /** Returns the stored subscriptions of one mailbox. */
  subscriptionsOf(mailbox: string): StoredSubscription[] {
    return [...this.subscriptions.values()].filter(
      (subscription) => subscription.mailbox === mailbox,
    );
  }

  /** Builds a change notification for a new message, as Graph does. */
  changeNotification(subscription: StoredSubscription, messageId: string): Record<string, unknown> {
    const userId = this.userIdOf(subscription.mailbox);
    return {
      subscriptionId: subscription.id,
      subscriptionExpirationDateTime: subscription.expirationDateTime,
      changeType: 'created',
      resource: `Users/${userId}/Messages/${messageId}`,
      resourceData: {
        '@odata.type': '#Microsoft.Graph.Message',
        '@odata.id': `Users/${userId}/Messages/${messageId}`,
        id: messageId,
      },
      clientState: subscription.clientState,
      tenantId: '00000000-0000-0000-0000-000000000001',
    };
  }

  /** Builds a lifecycle notification, as Graph does. */
  lifecycleNotification(subscription: StoredSubscription, event: string): Record<string, unknown> {
    return {
      subscriptionId: subscription.id,
      subscriptionExpirationDateTime: subscription.expirationDateTime,
      lifecycleEvent: event,
      resource: `users/${subscription.mailbox}/messages`,
      clientState: subscription.clientState,
      tenantId: '00000000-0000-0000-0000-000000000001',
    };
  }

  /** POSTs notifications to a URL as Graph does; returns the response status. */
  async deliver(url: string, items: Record<string, unknown>[]): Promise<number> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: items }),
    });
    await response.arrayBuffer();
    return response.status;
  }

  private requireLive(id: string): StoredSubscription {
    const subscription = this.subscriptions.get(id);
    if (
      subscription === undefined ||
      Date.parse(subscription.expirationDateTime) <= this.now().getTime()
    ) {
      throw new ScannerError('mailbox-not-found', 'Subscription not found');
    }
    return subscription;
  }

  private checkExpiry(expiration: Date): void {
    const minutes = (expiration.getTime() - this.now().getTime()) / 60_000;
    if (minutes > MAX_LIFETIME_MINUTES || minutes <= 0) {
      throw new ScannerError('mailbox-request-failed', 'Subscription expiration out of range');
    }
  }
}

/** POSTs Graph's validation request and checks the echo, as Graph does before subscribing. */
async function validateEndpoint(url: string): Promise<void> {
  const token = `Validation: Testing client application reachability ${randomUUID()}`;
  const target = new URL(url);
  target.searchParams.set('validationToken', token);
  let response: Response;
  try {
    response = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      signal: AbortSignal.timeout(VALIDATION_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ScannerError('mailbox-request-failed', 'Subscription validation request failed', {
      cause: error,
    });
  }
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  if (response.status !== 200 || text !== token || !type.startsWith('text/plain')) {
    throw new ScannerError('mailbox-request-failed', 'Subscription validation request failed');
  }
}

function publicView(subscription: StoredSubscription): GraphSubscription {
  const { mailbox: _mailbox, clientState: _clientState, ...view } = subscription;
  return { ...view };
}
