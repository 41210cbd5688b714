import { createHash, timingSafeEqual } from 'node:crypto';

import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';

import { statusOf, toRowKey } from './table-errors.js';

const SUBSCRIPTION_PARTITION = 'subscription';

/**
 * A Graph subscription mailsweep created: one row of the `subscriptions` table. Only a SHA-256
 * of the clientState is stored; the secret itself exists only while it is sent to Graph.
 */
export interface SubscriptionRecord {
  subscriptionId: string;
  /** Lower-cased address of the watched mailbox. */
  mailbox: string;
  /** Entra object id of the mailbox's user, once known; notifications name the user by it. */
  userId?: string;
  /** Hex SHA-256 of the clientState. */
  clientStateHash: string;
  /** ISO 8601. */
  expiresAt: string;
  createdAt: string;
}

const subscriptionRowSchema = z.object({
  subscriptionId: z.string().min(1).max(200),
  mailbox: z.string().min(1).max(320),
  userId: z.string().max(200).optional(),
  clientStateHash: z.string().regex(/^[0-9a-f]{64}$/),
  expiresAt: z.string(),
  createdAt: z.string(),
});

/** Returns the hex SHA-256 of a clientState, the form in which it is stored. */
export function hashClientState(clientState: string): string {
  return createHash('sha256').update(clientState, 'utf8').digest('hex');
}

/** Compares a received clientState with a stored hash in constant time. */
export function clientStateMatches(received: string, storedHash: string): boolean {
  const given = createHash('sha256').update(received, 'utf8').digest();
  const expected = Buffer.from(storedHash, 'hex');
  return expected.length === given.length && timingSafeEqual(given, expected);
}

/** Subscriptions in Table storage. */
export class SubscriptionStore {
  constructor(private readonly table: TableClient) {}

  /** Returns one subscription, or undefined when it is unknown or its row does not parse. */
  async get(subscriptionId: string): Promise<SubscriptionRecord | undefined> {
    try {
      const entity = await this.table.getEntity(SUBSCRIPTION_PARTITION, toRowKey(subscriptionId));
      const parsed = subscriptionRowSchema.safeParse(entity);
      return parsed.success ? parsed.data : undefined;
    } catch (error) {
      if (statusOf(error) === 404) {
        return undefined;
      }
      throw error;
    }
  }

  /** Writes a subscription row, replacing one with the same id. */
  async put(record: SubscriptionRecord): Promise<void> {
    await this.table.upsertEntity(
      { partitionKey: SUBSCRIPTION_PARTITION, rowKey: toRowKey(record.subscriptionId), ...record },
      'Replace',
    );
  }

  /** Deletes a subscription row; a missing row is not an error. */
  async delete(subscriptionId: string): Promise<void> {
    try {
      await this.table.deleteEntity(SUBSCRIPTION_PARTITION, toRowKey(subscriptionId));
    } catch (error) {
      if (statusOf(error) !== 404) {
        throw error;
      }
    }
  }

  /** Returns every subscription row. */
  async list(): Promise<SubscriptionRecord[]> {
    const records: SubscriptionRecord[] = [];
    const rows = this.table.listEntities({
      queryOptions: { filter: `PartitionKey eq '${SUBSCRIPTION_PARTITION}'` },
    });
    for await (const entity of rows) {
      const parsed = subscriptionRowSchema.safeParse(entity);
      if (parsed.success) {
        records.push(parsed.data);
      }
    }
    return records;
  }
}

/** Options of {@link SubscriptionCache}. */
export interface SubscriptionCacheOptions {
  /** How long a row read from the table is reused, in milliseconds. Default: 60,000. */
  ttlMs?: number;
  /** How long an unknown id is remembered as unknown, in milliseconds. Default: 5,000. */
  unknownTtlMs?: number;
  /** Maximum ids kept; the oldest entry is evicted first. Default: 10,000. */
  maxEntries?: number;
}

/** Maximum table reads the cache runs at once. */
const MAX_PARALLEL_READS = 16;

interface CacheEntry {
  record: SubscriptionRecord | undefined;
  expiresAt: number;
}

/**
 * A short in-memory cache in front of the subscriptions table, so that a batch of notifications
 * for one subscription costs one table read. Unknown ids are cached briefly and the cache size is
 * bounded, so that a flood of made-up ids neither reaches the table for every item nor grows
 * memory without limit.
 */
export class SubscriptionCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly ttlMs: number;
  private readonly unknownTtlMs: number;
  private readonly maxEntries: number;

  constructor(
    private readonly store: SubscriptionStore,
    options: SubscriptionCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.unknownTtlMs = options.unknownTtlMs ?? 5000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Returns the subscriptions of the given ids, reading each uncached id from the table once. */
  async getMany(ids: Iterable<string>): Promise<Map<string, SubscriptionRecord | undefined>> {
    const now = Date.now();
    const result = new Map<string, SubscriptionRecord | undefined>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const entry = this.entries.get(id);
      if (entry !== undefined && entry.expiresAt > now) {
        result.set(id, entry.record);
      } else {
        missing.push(id);
      }
    }
    // Reads run in groups, so that a request full of made-up ids cannot open hundreds of table
    // requests at once.
    for (let start = 0; start < missing.length; start += MAX_PARALLEL_READS) {
      const group = missing.slice(start, start + MAX_PARALLEL_READS);
      const loaded = await Promise.all(group.map((id) => this.store.get(id)));
      group.forEach((id, index) => {
        const record = loaded[index];
        result.set(id, record);
        this.remember(id, record, now);
      });
    }
    return result;
  }

  /** Drops one id, after its row changed. */
  forget(subscriptionId: string): void {
    this.entries.delete(subscriptionId);
  }

  private remember(id: string, record: SubscriptionRecord | undefined, now: number): void {
    this.entries.delete(id);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) {
        this.entries.delete(oldest);
      }
    }
    const ttl = record === undefined ? this.unknownTtlMs : this.ttlMs;
    this.entries.set(id, { record, expiresAt: now + ttl });
  }
}
