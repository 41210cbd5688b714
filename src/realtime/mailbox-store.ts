import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';

import { isConcurrencyConflict, statusOf, toRowKey } from './table-errors.js';

const MAILBOX_PARTITION = 'mailbox';
const GROUP_PARTITION = 'group';

/** Subscription state of a monitored mailbox. */
export type MailboxState = 'pending' | 'active' | 'failed' | 'on-premises';

/**
 * A monitored mailbox: one row of the `mailboxes` table. Column names are shared with the
 * catch-up consumer, which writes `lastCatchUpAt`.
 */
export interface MailboxRecord {
  /** Lower-cased primary SMTP address. */
  mailbox: string;
  /** Added by address through the API (as opposed to only through groups). */
  directlyAdded: boolean;
  /** Entra groups through which the mailbox is monitored. */
  groupIds: string[];
  state: MailboxState;
  subscriptionId?: string;
  /** ISO 8601 expiry of the subscription. */
  subscriptionExpiresAt?: string;
  /** Error code of the last failed subscription attempt; empty after a success. */
  lastError?: string;
  addedAt: string;
  /** Time the mailbox was last found on premises; it is checked again a day later. */
  onPremisesCheckedAt?: string;
  /** Time of the last change or lifecycle notification. */
  lastNotificationAt?: string;
  /** Time the catch-up consumer last finished a delta sweep. */
  lastCatchUpAt?: string;
  /** ETag of the row as read. */
  etag: string;
}

/** A monitored Entra group: one row of the `mailboxes` table in the `group` partition. */
export interface GroupRecord {
  groupId: string;
  addedAt: string;
  lastSyncedAt?: string;
  memberCount?: number;
}

const optionalText = z.string().max(2048).optional();

const mailboxRowSchema = z.object({
  mailbox: z.string().min(1).max(320),
  directlyAdded: z.boolean(),
  groupIds: z.string().max(32_000),
  state: z.enum(['pending', 'active', 'failed', 'on-premises']),
  subscriptionId: optionalText,
  subscriptionExpiresAt: optionalText,
  lastError: optionalText,
  addedAt: z.string(),
  onPremisesCheckedAt: optionalText,
  lastNotificationAt: optionalText,
  lastCatchUpAt: optionalText,
  etag: z.string(),
});

const groupRowSchema = z.object({
  groupId: z.string(),
  addedAt: z.string(),
  lastSyncedAt: optionalText,
  memberCount: z.number().optional(),
});

/** Fields the subscription manager changes on a mailbox row. */
export type MailboxChanges = Partial<
  Pick<
    MailboxRecord,
    | 'state'
    | 'subscriptionId'
    | 'subscriptionExpiresAt'
    | 'lastError'
    | 'onPremisesCheckedAt'
    | 'directlyAdded'
    | 'groupIds'
  >
>;

/** Monitored mailboxes and groups in Table storage. */
export class MailboxStore {
  constructor(private readonly table: TableClient) {}

  /** Returns one mailbox, or undefined when it is not monitored. */
  async get(mailbox: string): Promise<MailboxRecord | undefined> {
    try {
      const entity = await this.table.getEntity(MAILBOX_PARTITION, toRowKey(mailbox));
      return toMailboxRecord(entity);
    } catch (error) {
      if (statusOf(error) === 404) {
        return undefined;
      }
      throw error;
    }
  }

  /** Returns every monitored mailbox. Rows that do not parse are skipped. */
  async list(): Promise<MailboxRecord[]> {
    const records: MailboxRecord[] = [];
    const rows = this.table.listEntities({
      queryOptions: { filter: `PartitionKey eq '${MAILBOX_PARTITION}'` },
    });
    for await (const entity of rows) {
      const record = toMailboxRecord(entity);
      if (record !== undefined) {
        records.push(record);
      }
    }
    return records;
  }

  /**
   * Adds a mailbox, directly or as a member of a group, or adds that source to a monitored one.
   * Returns the row as stored.
   */
  async add(mailbox: string, source: { groupId?: string }, now: Date): Promise<MailboxRecord> {
    for (;;) {
      const existing = await this.get(mailbox);
      if (existing === undefined) {
        const record = {
          mailbox: mailbox.toLowerCase(),
          directlyAdded: source.groupId === undefined,
          groupIds: source.groupId === undefined ? [] : [source.groupId],
          state: 'pending' as const,
          addedAt: now.toISOString(),
        };
        try {
          await this.table.createEntity({
            partitionKey: MAILBOX_PARTITION,
            rowKey: toRowKey(mailbox),
            ...record,
            groupIds: JSON.stringify(record.groupIds),
          });
        } catch (error) {
          if (isConcurrencyConflict(error)) continue;
          throw error;
        }
        return (await this.get(mailbox)) ?? { ...record, etag: '' };
      }
      const changes: MailboxChanges =
        source.groupId === undefined
          ? { directlyAdded: true }
          : { groupIds: [...new Set([...existing.groupIds, source.groupId])] };
      if (await this.update(existing, changes)) {
        return { ...existing, ...changes };
      }
    }
  }

  /**
   * Merges changes into a row if it is unchanged since it was read.
   * @returns false when another writer changed or deleted the row first.
   */
  async update(record: MailboxRecord, changes: MailboxChanges): Promise<boolean> {
    const { groupIds, ...rest } = changes;
    try {
      await this.table.updateEntity(
        {
          partitionKey: MAILBOX_PARTITION,
          rowKey: toRowKey(record.mailbox),
          ...rest,
          ...(groupIds === undefined ? {} : { groupIds: JSON.stringify(groupIds) }),
        },
        'Merge',
        { etag: record.etag },
      );
      return true;
    } catch (error) {
      if (isConcurrencyConflict(error) || statusOf(error) === 404) {
        return false;
      }
      throw error;
    }
  }

  /** Deletes a mailbox row if it is unchanged since it was read; false otherwise. */
  async delete(record: MailboxRecord): Promise<boolean> {
    try {
      await this.table.deleteEntity(MAILBOX_PARTITION, toRowKey(record.mailbox), {
        etag: record.etag,
      });
      return true;
    } catch (error) {
      if (isConcurrencyConflict(error) || statusOf(error) === 404) {
        return false;
      }
      throw error;
    }
  }

  /** Stores the time of the last notification; does nothing for a mailbox no longer monitored. */
  async recordNotification(mailbox: string, at: Date): Promise<void> {
    try {
      await this.table.updateEntity(
        {
          partitionKey: MAILBOX_PARTITION,
          rowKey: toRowKey(mailbox),
          lastNotificationAt: at.toISOString(),
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

  /** Returns every monitored group. */
  async listGroups(): Promise<GroupRecord[]> {
    const groups: GroupRecord[] = [];
    const rows = this.table.listEntities({
      queryOptions: { filter: `PartitionKey eq '${GROUP_PARTITION}'` },
    });
    for await (const entity of rows) {
      const parsed = groupRowSchema.safeParse(entity);
      if (parsed.success) {
        groups.push(parsed.data);
      }
    }
    return groups;
  }

  /** Adds or updates a monitored group. */
  async putGroup(group: GroupRecord): Promise<void> {
    await this.table.upsertEntity(
      { partitionKey: GROUP_PARTITION, rowKey: toRowKey(group.groupId), ...group },
      'Merge',
    );
  }

  /** Stops monitoring a group; its members' rows are left to the next group sync. */
  async deleteGroup(groupId: string): Promise<boolean> {
    try {
      await this.table.deleteEntity(GROUP_PARTITION, toRowKey(groupId));
      return true;
    } catch (error) {
      if (statusOf(error) === 404) {
        return false;
      }
      throw error;
    }
  }
}

function toMailboxRecord(entity: unknown): MailboxRecord | undefined {
  const parsed = mailboxRowSchema.safeParse(entity);
  if (!parsed.success) {
    return undefined;
  }
  const groupIds = z.array(z.string()).safeParse(safeJson(parsed.data.groupIds));
  return { ...parsed.data, groupIds: groupIds.success ? groupIds.data : [] };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
