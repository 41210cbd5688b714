import { randomUUID } from 'node:crypto';

import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';

import { tableStatus, toItemKey, toTableError } from './table-keys.js';

/**
 * One row per message and mailbox in the `messagelocks` table, so that a message is acted on
 * once however many jobs name it: a duplicate notification, a redelivered queue message, a catch-up
 * that finds it again, or a notification for the new id it got after a move.
 *
 * The row is created with create-only semantics, so two consumers racing for one message get one
 * winner. Every later change carries the row's ETag, so a consumer whose lease was taken over
 * (its Service Bus lock expired during a long scan and the job went to another instance) fails
 * its next write and stops before it touches the mailbox.
 */

/**
 * Lease of a claim, in milliseconds: the host's function timeout (host.json `functionTimeout`,
 * 10 minutes), after which no invocation can still hold the claim.
 */
export const LOCK_LEASE_MS = 10 * 60 * 1000;

/**
 * `claimed`: scanning. `decided`: the verdict is known and any quarantine copy is verified, the
 * mailbox action may or may not have happened. `done` and `gone` are final. `failed`: a failure was
 * recorded and a later job may claim the message again.
 */
export type LockState = 'claimed' | 'decided' | 'done' | 'gone' | 'failed';

const lockRowSchema = z.object({
  state: z.enum(['claimed', 'decided', 'done', 'gone', 'failed']),
  owner: z.string(),
  leaseUntil: z.number(),
  firstSeenAt: z.string(),
  messageId: z.string(),
  internetMessageId: z.string().optional(),
  receivedAt: z.string().optional(),
  category: z.string().optional(),
  action: z.string().optional(),
  quarantineId: z.string().optional(),
  signatures: z.string().optional(),
  /** Name of the admin rule that decided the verdict, for the verdict log. */
  decidingRule: z.string().optional(),
  /** JSON of the `tag` actions the rules requested, applied after the verdict's own action. */
  ruleTags: z.string().optional(),
  /** JSON of the attachments the rules asked to remove, found in the message's MIME. */
  ruleRemovals: z.string().optional(),
  /** JSON of the notifications the rules asked for, with the message's sender and subject. */
  ruleNotices: z.string().optional(),
  /** JSON array of the rules whose notification was sent, or was about to be, by any try. */
  notifiedRules: z.string().optional(),
  etag: z.string(),
});

/** A message's lock row as stored. */
export type MessageLock = z.infer<typeof lockRowSchema> & { mailboxKey: string; lockKey: string };

/** Fields a claim writes on a new row. */
export interface LockIdentity {
  messageId: string;
  internetMessageId?: string;
  receivedAt?: string;
}

/** Outcome of {@link claimMessage}. */
export type ClaimResult =
  | { kind: 'claimed'; lock: MessageLock }
  /** Another invocation holds a live lease. */
  | { kind: 'busy'; lock?: MessageLock }
  /** The message was already acted on or found gone. */
  | { kind: 'finished'; lock: MessageLock };

/** Thrown when a lock write loses to another invocation that took the claim over. */
export class LeaseLostError extends Error {
  constructor() {
    super('The message lock was taken over by another invocation');
    this.name = 'LeaseLostError';
  }
}

/** Reads and writes message locks and the item-id rows that point to them. */
export class MessageLocks {
  constructor(
    private readonly table: TableClient,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Claims a message for this invocation: creates its lock row, or takes the existing row over
   * as {@link MessageLocks.takeOver} does.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async claim(mailboxKey: string, lockKey: string, identity: LockIdentity): Promise<ClaimResult> {
    const owner = randomUUID();
    const leaseUntil = this.now() + LOCK_LEASE_MS;
    const row = {
      partitionKey: mailboxKey,
      rowKey: lockKey,
      state: 'claimed',
      owner,
      leaseUntil,
      firstSeenAt: new Date(this.now()).toISOString(),
      ...withoutUndefined(identity),
    };
    try {
      const created = await this.table.createEntity(row);
      return { kind: 'claimed', lock: this.toLock(mailboxKey, lockKey, row, created.etag) };
    } catch (error) {
      if (tableStatus(error) !== 409) {
        throw toTableError(error, 'lock create');
      }
    }

    const existing = await this.read(mailboxKey, lockKey);
    if (existing === undefined) {
      // Deleted between the two calls (only a retention clean-up does that): the caller retries.
      return { kind: 'busy' };
    }
    return this.takeOver(existing, identity.messageId);
  }

  /**
   * Takes over an existing lock whose lease ran out or whose last try failed. A `decided` lock
   * keeps its state, verdict and quarantine id, so that the new owner resumes instead of scanning
   * and storing again.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async takeOver(existing: MessageLock, messageId?: string): Promise<ClaimResult> {
    if (existing.state === 'done' || existing.state === 'gone') {
      return { kind: 'finished', lock: existing };
    }
    const leaseLive = existing.state !== 'failed' && existing.leaseUntil > this.now();
    if (leaseLive) {
      return { kind: 'busy', lock: existing };
    }
    const state = existing.state === 'decided' ? 'decided' : 'claimed';
    const changes = { state, owner: randomUUID(), leaseUntil: this.now() + LOCK_LEASE_MS, messageId } as const;
    try {
      return { kind: 'claimed', lock: await this.update(existing, changes) };
    } catch (error) {
      if (error instanceof LeaseLostError) {
        return { kind: 'busy', lock: existing };
      }
      throw error;
    }
  }

  /** Reads a lock row, or undefined when there is none. */
  async read(mailboxKey: string, lockKey: string): Promise<MessageLock | undefined> {
    let entity: Record<string, unknown>;
    try {
      entity = await this.table.getEntity(mailboxKey, lockKey);
    } catch (error) {
      if (tableStatus(error) === 404) {
        return undefined;
      }
      throw toTableError(error, 'lock read');
    }
    const parsed = lockRowSchema.safeParse(entity);
    if (!parsed.success) {
      // A row this code cannot read is treated as an expired claim, so that it is taken over
      // (with its ETag) and rewritten instead of blocking the message for ever.
      return {
        mailboxKey,
        lockKey,
        state: 'claimed',
        owner: '',
        leaseUntil: 0,
        firstSeenAt: new Date(this.now()).toISOString(),
        messageId: '',
        etag: typeof entity.etag === 'string' ? entity.etag : '*',
      };
    }
    return { ...parsed.data, mailboxKey, lockKey };
  }

  /**
   * Writes new fields on a lock this invocation owns, checking its ETag.
   * @throws LeaseLostError when another invocation wrote the row since it was read.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async update(lock: MessageLock, changes: Partial<Omit<MessageLock, 'etag' | 'mailboxKey' | 'lockKey'>>): Promise<MessageLock> {
    const { etag, mailboxKey, lockKey, ...fields } = lock;
    const next = { ...fields, ...withoutUndefined(changes) };
    try {
      const result = await this.table.updateEntity(
        { partitionKey: mailboxKey, rowKey: lockKey, ...next },
        'Replace',
        { etag },
      );
      // Table storage always returns an ETag; keeping the old one fails the next write safely.
      return { ...next, mailboxKey, lockKey, etag: result.etag ?? etag };
    } catch (error) {
      const status = tableStatus(error);
      if (status === 412 || status === 404) {
        throw new LeaseLostError();
      }
      throw toTableError(error, 'lock update');
    }
  }

  /**
   * Ends this invocation's lease early, keeping the state, so that the job's redelivery can claim
   * the message at once. Best effort: when it fails, the lease simply runs out.
   */
  async release(lock: MessageLock): Promise<void> {
    try {
      await this.update(lock, { leaseUntil: 0 });
    } catch {
      // The lease ends by itself after LOCK_LEASE_MS; nothing else depends on this write.
    }
  }

  /** Records that a store item id belongs to a lock (the original id, or the id after a move). */
  async linkItem(mailboxKey: string, messageId: string, lockKey: string): Promise<void> {
    try {
      await this.table.upsertEntity(
        { partitionKey: mailboxKey, rowKey: toItemKey(messageId), lockKey },
        'Replace',
      );
    } catch (error) {
      throw toTableError(error, 'item link');
    }
  }

  /** Returns the lock a store item id was linked to, or undefined. */
  async findByItem(mailboxKey: string, messageId: string): Promise<MessageLock | undefined> {
    let entity: Record<string, unknown>;
    try {
      entity = await this.table.getEntity(mailboxKey, toItemKey(messageId));
    } catch (error) {
      if (tableStatus(error) === 404) {
        return undefined;
      }
      throw toTableError(error, 'item read');
    }
    const lockKey = entity.lockKey;
    return typeof lockKey === 'string' ? this.read(mailboxKey, lockKey) : undefined;
  }

  private toLock(mailboxKey: string, lockKey: string, row: Record<string, unknown>, etag: string | undefined): MessageLock {
    const parsed = lockRowSchema.parse({ ...row, etag: etag ?? '' });
    return { ...parsed, mailboxKey, lockKey };
  }
}

/** Tells whether a lock is final (`done` or `gone`), so that no job acts on its message again. */
export function isFinal(lock: MessageLock): boolean {
  return lock.state === 'done' || lock.state === 'gone';
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}
