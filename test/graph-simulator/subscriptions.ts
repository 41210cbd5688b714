import { randomBytes, randomUUID } from 'node:crypto';

import type { NotificationHooks } from './faults.js';
import type { MailboxStore, SimMailbox } from './mailbox-store.js';

/** Outlook message subscriptions may last at most 4,230 minutes (Graph subscription docs). */
export const MAX_SUBSCRIPTION_MINUTES = 4230;

/** Graph waits 10 seconds for the validation response, and the wait cannot be configured. */
export const VALIDATION_TIMEOUT_MS = 10_000;

/** Graph counts a notification whose response takes more than about 3 seconds as slow. */
const DELIVERY_TIMEOUT_MS = 3_000;

/** A subscription as the simulator keeps it. */
export interface SimSubscription {
  id: string;
  resource: string;
  changeTypes: string[];
  notificationUrl: string;
  lifecycleNotificationUrl?: string;
  clientState?: string;
  expirationDateTime: string;
  mailboxId: string;
  /** Folder the resource is limited to, when it names one. */
  folderId?: string;
}

/** One POST the simulator made to a subscriber. */
export interface DeliveryRecord {
  kind: 'validation' | 'change' | 'lifecycle';
  url: string;
  subscriptionId?: string;
  /** HTTP status, or 0 when the request failed or timed out. */
  status: number;
  durationMs: number;
  body: unknown;
}

/** Why creating or renewing a subscription failed, as Graph reports it. */
export class SubscriptionRejection extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The resource forms mailsweep subscribes to: a mailbox's messages, or one folder's. */
const RESOURCE_PATTERN = /^\/?users\/([^/]+)\/(?:messages|mailfolders\('([^']+)'\)\/messages)$/i;

/** Subscriptions, their validation handshake and the notifications delivered to subscribers. */
export class SubscriptionHub {
  readonly subscriptions = new Map<string, SimSubscription>();
  readonly deliveries: DeliveryRecord[] = [];
  /** Change notifications the dropRate hook never sent. */
  readonly dropped: Array<{ subscriptionId: string; messageId: string }> = [];
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly store: MailboxStore,
    private readonly hooks: NotificationHooks,
    private readonly random: () => number,
    private readonly tenantId: string,
    /** Validation token override for tests; Graph's own tokens contain spaces and colons. */
    readonly validation: { token?: string; timeoutMs: number },
  ) {}

  /** Creates a subscription after the subscriber echoes the validation token. */
  async create(input: {
    resource: string;
    changeType: string;
    notificationUrl: string;
    lifecycleNotificationUrl?: string;
    clientState?: string;
    expirationDateTime: string;
  }): Promise<SimSubscription> {
    const match = RESOURCE_PATTERN.exec(input.resource);
    if (match === null) {
      throw new SubscriptionRejection(400, 'InvalidRequest', 'Unsupported resource.');
    }
    const mailbox = this.store.findMailbox(decodeURIComponent(match[1] ?? ''));
    this.checkMailbox(mailbox);
    const folderName = match[2];
    const folder =
      folderName === undefined ? undefined : this.store.findFolder(mailbox!, folderName);
    if (folderName !== undefined && folder === undefined) {
      throw new SubscriptionRejection(404, 'ErrorItemNotFound', 'The folder was not found.');
    }
    this.checkExpiration(input.expirationDateTime);
    await this.validate(input.notificationUrl);
    if (input.lifecycleNotificationUrl !== undefined) {
      await this.validate(input.lifecycleNotificationUrl);
    }
    const subscription: SimSubscription = {
      id: randomUUID(),
      resource: input.resource,
      changeTypes: input.changeType.split(',').map((type) => type.trim()),
      notificationUrl: input.notificationUrl,
      lifecycleNotificationUrl: input.lifecycleNotificationUrl,
      clientState: input.clientState,
      expirationDateTime: new Date(input.expirationDateTime).toISOString(),
      mailboxId: mailbox!.id,
      folderId: folder?.id,
    };
    this.subscriptions.set(subscription.id, subscription);
    return subscription;
  }

  /** Renews a subscription; Graph validates the notification URL again on renewal. */
  async renew(id: string, expirationDateTime: string): Promise<SimSubscription> {
    const subscription = this.find(id);
    this.checkExpiration(expirationDateTime);
    await this.validate(subscription.notificationUrl);
    subscription.expirationDateTime = new Date(expirationDateTime).toISOString();
    return subscription;
  }

  /** Returns a live subscription, removing it first when it has expired. */
  find(id: string): SimSubscription {
    this.removeExpired();
    const subscription = this.subscriptions.get(id);
    if (subscription === undefined) {
      throw new SubscriptionRejection(404, 'ResourceNotFound', 'The object was not found.');
    }
    return subscription;
  }

  /** Live subscriptions. */
  list(): SimSubscription[] {
    this.removeExpired();
    return [...this.subscriptions.values()];
  }

  /** Sends `created`, `updated` or `deleted` to every subscription that watches the change. */
  notifyChange(mailbox: SimMailbox, folderId: string, changeType: string, messageId: string): void {
    for (const subscription of this.list()) {
      const watches =
        subscription.mailboxId === mailbox.id &&
        subscription.changeTypes.includes(changeType) &&
        (subscription.folderId === undefined || subscription.folderId === folderId);
      if (!watches) {
        continue;
      }
      if (this.random() < this.hooks.dropRate) {
        this.dropped.push({ subscriptionId: subscription.id, messageId });
        if (this.hooks.missedOnDrop) {
          this.sendLifecycleEvent(subscription.id, 'missed');
        }
        continue;
      }
      const resource = `Users/${mailbox.id}/Messages/${messageId}`;
      const notification = {
        subscriptionId: subscription.id,
        subscriptionExpirationDateTime: subscription.expirationDateTime,
        changeType,
        resource,
        resourceData: {
          '@odata.type': '#Microsoft.Graph.Message',
          '@odata.id': resource,
          '@odata.etag': `W/"${randomBytes(6).toString('base64')}"`,
          id: messageId,
        },
        clientState: subscription.clientState,
        tenantId: this.tenantId,
      };
      const copies = this.random() < this.hooks.duplicateRate ? 2 : 1;
      for (let copy = 0; copy < copies; copy += 1) {
        this.track(
          this.deliver('change', subscription.notificationUrl, subscription.id, notification),
        );
      }
    }
  }

  /**
   * Sends a lifecycle notification. `subscriptionRemoved` also deletes the subscription, as Graph
   * does when it removes one.
   */
  sendLifecycleEvent(
    id: string,
    lifecycleEvent: 'missed' | 'reauthorizationRequired' | 'subscriptionRemoved',
  ): void {
    const subscription = this.find(id);
    if (lifecycleEvent === 'subscriptionRemoved') {
      this.subscriptions.delete(id);
    }
    if (subscription.lifecycleNotificationUrl === undefined) {
      return;
    }
    const notification = {
      subscriptionId: subscription.id,
      subscriptionExpirationDateTime: subscription.expirationDateTime,
      tenantId: this.tenantId,
      clientState: subscription.clientState,
      lifecycleEvent,
    };
    this.track(this.deliver('lifecycle', subscription.lifecycleNotificationUrl, id, notification));
  }

  /** Resolves once every delivery started so far has finished, retries included. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) {
      await Promise.all([...this.pending]);
    }
  }

  private checkMailbox(mailbox: SimMailbox | undefined): void {
    if (mailbox === undefined) {
      throw new SubscriptionRejection(404, 'ErrorInvalidUser', 'The requested user is invalid.');
    }
    if (mailbox.kind !== 'cloud') {
      throw new SubscriptionRejection(
        404,
        'MailboxNotEnabledForRESTAPI',
        'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
      );
    }
  }

  private checkExpiration(value: string): void {
    const expiry = Date.parse(value);
    const now = Date.now();
    if (Number.isNaN(expiry) || expiry <= now) {
      throw new SubscriptionRejection(400, 'InvalidRequest', 'expirationDateTime is invalid.');
    }
    if (expiry > now + MAX_SUBSCRIPTION_MINUTES * 60_000) {
      throw new SubscriptionRejection(
        400,
        'InvalidRequest',
        'Subscription expiration can only be 4230 minutes in the future.',
      );
    }
  }

  /**
   * Runs Graph's validation handshake: POST `{url}?validationToken=...` with an empty text/plain
   * body; the subscriber must respond 200 with the decoded token as text/plain within 10 seconds.
   */
  private async validate(url: string): Promise<void> {
    const token =
      this.validation.token ??
      `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    const target = new URL(url);
    target.searchParams.set('validationToken', token);
    const started = Date.now();
    let status = 0;
    let ok = false;
    try {
      const response = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: '',
        signal: AbortSignal.timeout(this.validation.timeoutMs),
      });
      status = response.status;
      const body = await response.text();
      const type = response.headers.get('content-type') ?? '';
      ok = status === 200 && type.toLowerCase().startsWith('text/plain') && body === token;
    } catch {
      ok = false;
    }
    this.deliveries.push({
      kind: 'validation',
      url,
      status,
      durationMs: Date.now() - started,
      body: token,
    });
    if (!ok) {
      throw new SubscriptionRejection(
        400,
        'ValidationError',
        'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.',
      );
    }
  }

  private async deliver(
    kind: 'change' | 'lifecycle',
    url: string,
    subscriptionId: string,
    notification: unknown,
  ): Promise<void> {
    const body = { value: [notification] };
    if (this.hooks.delayMs > 0) {
      await sleep(this.hooks.delayMs);
    }
    for (let attempt = 0; attempt <= this.hooks.retries; attempt += 1) {
      const started = Date.now();
      let status = 0;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        });
        status = response.status;
        await response.arrayBuffer();
      } catch {
        status = 0;
      }
      this.deliveries.push({
        kind,
        url,
        subscriptionId,
        status,
        durationMs: Date.now() - started,
        body,
      });
      if (status >= 200 && status < 300) {
        return;
      }
      await sleep(this.hooks.retryDelayMs);
    }
  }

  private track(delivery: Promise<void>): void {
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  private removeExpired(): void {
    const now = Date.now();
    for (const [id, subscription] of this.subscriptions) {
      if (Date.parse(subscription.expirationDateTime) <= now) {
        this.subscriptions.delete(id);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
