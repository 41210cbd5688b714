import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';

import { statusOf } from './table-errors.js';

const PARTITION = 'ews';

/**
 * An EWS push subscription mailsweep created: one row of the `ewssubscriptions` table, keyed by
 * the callback id in its callback URL. The URL also carries a secret of its own; only its SHA-256
 * is stored. The row is written before Subscribe is sent, so that a notification Exchange sends
 * before the Subscribe response arrives is already recognised.
 */
export interface EwsSubscriptionRecord {
  /** Random hex id in the callback URL's `id` parameter. */
  callbackId: string;
  /** Exchange's SubscriptionId; absent while Subscribe is in flight. */
  subscriptionId?: string;
  /** Lower-cased address of the watched mailbox. */
  mailbox: string;
  /** Hex SHA-256 of the callback URL's secret. */
  secretHash: string;
  /** StatusFrequency the subscription was created with, in minutes. */
  statusFrequencyMinutes: number;
  /** Watermark of the newest event received, for diagnosis. */
  watermark?: string;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601 time of the last SendNotification, events or keep-alive; createdAt before one. */
  lastSeenAt: string;
}

const CALLBACK_ID_PATTERN = /^[0-9a-f]{32}$/;

/** True for a well-formed callback id: 32 lower-case hex digits. */
export function isCallbackId(value: string): boolean {
  return CALLBACK_ID_PATTERN.test(value);
}

const rowSchema = z.object({
  callbackId: z.string().regex(CALLBACK_ID_PATTERN),
  subscriptionId: z.string().min(1).max(512).optional(),
  mailbox: z.string().min(1).max(320),
  secretHash: z.string().regex(/^[0-9a-f]{64}$/),
  statusFrequencyMinutes: z.number().int().min(1).max(1440),
  watermark: z.string().max(1024).optional(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
});

/** EWS push subscriptions in Table storage. */
export class EwsSubscriptionStore {
  constructor(private readonly table: TableClient) {}

  /** Returns one subscription, or undefined when it is unknown or its row does not parse. */
  async get(callbackId: string): Promise<EwsSubscriptionRecord | undefined> {
    if (!isCallbackId(callbackId)) {
      return undefined;
    }
    try {
      const entity = await this.table.getEntity(PARTITION, callbackId);
      const parsed = rowSchema.safeParse(entity);
      return parsed.success ? parsed.data : undefined;
    } catch (error) {
      if (statusOf(error) === 404) {
        return undefined;
      }
      throw error;
    }
  }

  /** Writes a subscription row, replacing one with the same id. */
  async put(record: EwsSubscriptionRecord): Promise<void> {
    await this.table.upsertEntity(
      { partitionKey: PARTITION, rowKey: record.callbackId, ...record },
      'Replace',
    );
  }

  /**
   * Stores the time of a notification and the newest watermark. Does nothing for a row deleted
   * in the meantime, so that a late notification cannot bring back a removed subscription.
   */
  async recordNotification(callbackId: string, at: Date, watermark?: string): Promise<void> {
    try {
      await this.table.updateEntity(
        {
          partitionKey: PARTITION,
          rowKey: callbackId,
          lastSeenAt: at.toISOString(),
          ...(watermark === undefined ? {} : { watermark }),
        },
        'Merge',
        { etag: '*' },
      );
    } catch (error) {
      if (statusOf(error) !== 404) {
        throw error;
      }
    }
  }

  /** Stores Exchange's SubscriptionId on a row; false when the row is gone. */
  async attach(callbackId: string, subscriptionId: string): Promise<boolean> {
    try {
      await this.table.updateEntity(
        { partitionKey: PARTITION, rowKey: callbackId, subscriptionId },
        'Merge',
        { etag: '*' },
      );
      return true;
    } catch (error) {
      if (statusOf(error) === 404) {
        return false;
      }
      throw error;
    }
  }

  /** Deletes a subscription row; a missing row is not an error. */
  async delete(callbackId: string): Promise<void> {
    try {
      await this.table.deleteEntity(PARTITION, callbackId);
    } catch (error) {
      if (statusOf(error) !== 404) {
        throw error;
      }
    }
  }

  /** Returns every subscription row that parses. */
  async list(): Promise<EwsSubscriptionRecord[]> {
    const records: EwsSubscriptionRecord[] = [];
    const rows = this.table.listEntities({
      queryOptions: { filter: `PartitionKey eq '${PARTITION}'` },
    });
    for await (const entity of rows) {
      const parsed = rowSchema.safeParse(entity);
      if (parsed.success) {
        records.push(parsed.data);
      }
    }
    return records;
  }
}

