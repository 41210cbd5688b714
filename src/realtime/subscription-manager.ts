import { randomBytes } from 'node:crypto';

import type { GraphSubscription } from '../graph/subscription-client.js';
import { ScannerError, toError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { hashMailbox } from './mailbox-health.js';
import type { MailboxRecord } from './mailbox-store.js';
import { retryWithBackoff } from './retry.js';
import { requireGraph, type RealtimeServices } from './services.js';
import { hashClientState } from './subscription-store.js';

/** Graph route mailsweep subscribes to, per mailbox: every new message in any folder. */
export function toMessagesResource(mailbox: string): string {
  return `users/${mailbox}/messages`;
}

/** A mailbox found on premises is tried again after this long, because mailboxes migrate. */
const ON_PREMISES_RECHECK_MS = 24 * 60 * 60 * 1000;

/** Outcome of {@link SubscriptionManager.ensure} for one mailbox. */
export type EnsureOutcome =
  | 'unchanged'
  | 'created'
  | 'renewed'
  | 'on-premises'
  | 'failed'
  | 'superseded';

/**
 * Creates, renews, reauthorizes and deletes the Graph subscription of each monitored mailbox,
 * and keeps the mailbox and subscription rows in step. Callers hold the manager lease, so two
 * instances do not work on subscriptions at once. ETag-checked mailbox writes back this up: a
 * subscription whose write loses is deleted again.
 */
export class SubscriptionManager {
  constructor(
    private readonly services: RealtimeServices,
    private readonly logger: Logger,
  ) {}

  /**
   * Makes sure a mailbox has a live subscription: creates a missing one, recreates one that is
   * expired or that Graph no longer lists, and renews one that expires within the renewal window.
   * @param listedIds ids Graph lists, or undefined when the listing failed.
   */
  async ensure(
    record: MailboxRecord,
    listedIds: ReadonlySet<string> | undefined,
  ): Promise<EnsureOutcome> {
    const now = this.services.now();
    if (record.state === 'on-premises' && !this.isRecheckDue(record, now)) {
      return 'unchanged';
    }
    const id = record.subscriptionId;
    const expiresAt = Date.parse(record.subscriptionExpiresAt ?? '');
    const gone = listedIds !== undefined && id !== undefined && !listedIds.has(id);
    if (id === undefined || id === '' || gone || !(expiresAt > now.getTime())) {
      return this.create(record);
    }
    const renewBeforeMs = this.services.settings.subscriptions.renewBeforeMinutes * 60_000;
    if (expiresAt - now.getTime() > renewBeforeMs) {
      return 'unchanged';
    }
    return this.renew(record, id);
  }

  /** Creates a subscription and stores it; replaces the mailbox's old one, if any. */
  async create(record: MailboxRecord): Promise<EnsureOutcome> {
    const graph = requireGraph(this.services);
    const clientState = randomBytes(32).toString('base64url');
    let created: GraphSubscription;
    try {
      created = await this.withRetries('create', record.mailbox, () =>
        graph.subscriptions.createSubscription({
          mailbox: record.mailbox,
          notificationUrl: this.endpointUrl('graph/notifications'),
          lifecycleNotificationUrl: this.endpointUrl('graph/lifecycle'),
          clientState,
          expiration: this.newExpiry(),
        }),
      );
    } catch (error) {
      return this.recordFailure(record, error);
    }

    const userId = await this.tryResolveUserId(record.mailbox);
    await this.services.subscriptions.put({
      subscriptionId: created.id,
      mailbox: record.mailbox,
      ...(userId === undefined ? {} : { userId }),
      clientStateHash: hashClientState(clientState),
      expiresAt: created.expirationDateTime,
      createdAt: this.services.now().toISOString(),
    });
    const stored = await this.attach(record, created);
    if (!stored) {
      await this.deleteQuietly(created.id);
      return 'superseded';
    }
    if (record.subscriptionId !== undefined && record.subscriptionId !== '') {
      await this.deleteQuietly(record.subscriptionId);
    }
    this.logger.info('Subscription created', {
      mailboxHash: hashMailbox(record.mailbox),
      subscriptionId: created.id,
      expiresAt: created.expirationDateTime,
    });
    return 'created';
  }

  /** Renews a subscription; recreates it when Graph no longer has it or it has expired. */
  async renew(record: MailboxRecord, id: string): Promise<EnsureOutcome> {
    const graph = requireGraph(this.services);
    try {
      const renewed = await this.withRetries('renew', record.mailbox, () =>
        graph.subscriptions.renewSubscription(id, this.newExpiry()),
      );
      await this.storeExpiry(record, renewed);
      return 'renewed';
    } catch (error) {
      const expired = !(
        Date.parse(record.subscriptionExpiresAt ?? '') > this.services.now().getTime()
      );
      if (isCode(error, 'mailbox-not-found') || expired) {
        return this.create(record);
      }
      return this.recordFailure(record, error, 'active');
    }
  }

  /** Handles a `reauthorizationRequired` event: reauthorizes, or renews if that fails. */
  async reauthorize(record: MailboxRecord, id: string): Promise<EnsureOutcome> {
    const graph = requireGraph(this.services);
    try {
      await graph.subscriptions.reauthorizeSubscription(id);
      return 'unchanged';
    } catch (error) {
      this.logger.warn('Reauthorizing a subscription failed; renewing it instead', {
        subscriptionId: id,
        code: error instanceof ScannerError ? error.code : undefined,
      });
      return this.renew(record, id);
    }
  }

  /** Deletes a mailbox's subscription (Graph and table) and its row. */
  async remove(record: MailboxRecord): Promise<void> {
    if (record.subscriptionId !== undefined && record.subscriptionId !== '') {
      await this.deleteQuietly(record.subscriptionId);
    }
    let current: MailboxRecord | undefined = record;
    while (current !== undefined && !(await this.services.mailboxes.delete(current))) {
      current = await this.services.mailboxes.get(record.mailbox);
      if (current?.subscriptionId && current.subscriptionId !== record.subscriptionId) {
        await this.deleteQuietly(current.subscriptionId);
      }
    }
  }

  /** Deletes a subscription in Graph and its row; failures are logged, not thrown. */
  async deleteQuietly(subscriptionId: string): Promise<void> {
    try {
      await requireGraph(this.services).subscriptions.deleteSubscription(subscriptionId);
    } catch (error) {
      if (!isCode(error, 'mailbox-not-found')) {
        this.logger.warn('Deleting a subscription in Graph failed; the next sync retries', {
          subscriptionId,
          error: toError(error).message,
        });
      }
    }
    await this.services.subscriptions.delete(subscriptionId);
    this.services.subscriptionCache.forget(subscriptionId);
  }

  /** URL Graph posts to, under the configured public base URL. */
  endpointUrl(route: string): string {
    const base = this.services.settings.subscriptions.publicBaseUrl;
    if (base === undefined) {
      throw new ScannerError(
        'config-invalid',
        'MAILSWEEP_PUBLIC_BASE_URL is not set, so Graph has no URL to send notifications to',
      );
    }
    return `${base.replace(/\/+$/, '')}/api/${route}`;
  }

  /**
   * Writes the new subscription onto the mailbox row if the row still has the subscription it had
   * when read. A conflict from an unrelated column (a notification time) is retried with the
   * fresh row. A row that is gone, or that has another new subscription, makes this one surplus.
   */
  private async attach(record: MailboxRecord, created: GraphSubscription): Promise<boolean> {
    let current: MailboxRecord = record;
    for (;;) {
      const written = await this.services.mailboxes.update(current, {
        state: 'active',
        subscriptionId: created.id,
        subscriptionExpiresAt: created.expirationDateTime,
        lastError: '',
      });
      if (written) {
        return true;
      }
      const fresh = await this.services.mailboxes.get(record.mailbox);
      if (fresh === undefined || (fresh.subscriptionId ?? '') !== (record.subscriptionId ?? '')) {
        return false;
      }
      current = fresh;
    }
  }

  private async storeExpiry(record: MailboxRecord, renewed: GraphSubscription): Promise<void> {
    const stored = await this.services.subscriptions.get(renewed.id);
    if (stored !== undefined) {
      await this.services.subscriptions.put({ ...stored, expiresAt: renewed.expirationDateTime });
      this.services.subscriptionCache.forget(renewed.id);
    }
    let current: MailboxRecord | undefined = record;
    while (current !== undefined && current.subscriptionId === renewed.id) {
      const changes = { subscriptionExpiresAt: renewed.expirationDateTime, lastError: '' };
      if (await this.services.mailboxes.update(current, changes)) {
        return;
      }
      current = await this.services.mailboxes.get(record.mailbox);
    }
  }

  private async recordFailure(
    record: MailboxRecord,
    error: unknown,
    stateOnFailure: 'failed' | 'active' = 'failed',
  ): Promise<EnsureOutcome> {
    const code = error instanceof ScannerError ? error.code : 'unexpected';
    const onPremises = code === 'mailbox-on-premises';
    const changes = onPremises
      ? {
          state: 'on-premises' as const,
          lastError: code,
          onPremisesCheckedAt: this.services.now().toISOString(),
        }
      : { state: stateOnFailure, lastError: code };
    let current: MailboxRecord | undefined = record;
    while (current !== undefined && !(await this.services.mailboxes.update(current, changes))) {
      current = await this.services.mailboxes.get(record.mailbox);
    }
    const fields = {
      mailboxHash: hashMailbox(record.mailbox),
      code,
      error: toError(error).message,
    };
    if (onPremises) {
      this.logger.info('Mailbox is on premises; skipped', fields);
    } else {
      this.logger.error('Subscription could not be created or renewed', fields);
    }
    return onPremises ? 'on-premises' : 'failed';
  }

  private withRetries<T>(operation: string, mailbox: string, run: () => Promise<T>): Promise<T> {
    return retryWithBackoff(run, this.services.retryDelaysMs, isRetryable, (error, attempt) =>
      this.logger.warn(`Subscription ${operation} failed; retrying`, {
        mailboxHash: hashMailbox(mailbox),
        attempt,
        code: error instanceof ScannerError ? error.code : undefined,
      }),
    );
  }

  private async tryResolveUserId(mailbox: string): Promise<string | undefined> {
    const users = this.services.graph?.users;
    if (users === undefined) return undefined;
    try {
      return (await users.resolveUserId(mailbox)).toLowerCase();
    } catch (error) {
      this.logger.warn('Resolving the user id of a mailbox failed', {
        mailboxHash: hashMailbox(mailbox),
        error: toError(error).message,
      });
      return undefined;
    }
  }

  private newExpiry(): Date {
    const minutes = this.services.settings.subscriptions.lifetimeMinutes;
    return new Date(this.services.now().getTime() + minutes * 60_000);
  }

  private isRecheckDue(record: MailboxRecord, now: Date): boolean {
    const checkedAt = Date.parse(record.onPremisesCheckedAt ?? '');
    return !(now.getTime() - checkedAt < ON_PREMISES_RECHECK_MS);
  }
}

/**
 * Creation and renewal are retried after every failure except a mailbox that is on premises or
 * gone, and a configuration error. Graph reports a validation POST that timed out (a cold start) as a permanent 400, yet
 * the next attempt usually succeeds.
 */
function isRetryable(error: unknown): boolean {
  return (
    !isCode(error, 'mailbox-on-premises') &&
    !isCode(error, 'mailbox-not-found') &&
    !isCode(error, 'config-invalid')
  );
}

function isCode(error: unknown, code: ScannerError['code']): boolean {
  return error instanceof ScannerError && error.code === code;
}
