import { createHash } from 'node:crypto';

import { odata, RestError, type TableClient } from '@azure/data-tables';
import { z } from 'zod';

import { ScannerError } from '../shared/errors.js';

/**
 * Digest bookkeeping in the `digeststate` table. Per recipient it stores the newest item sent and
 * the send time of the last digest. It also stores the run cursor (items older than it were all
 * handled) and the recipients each sending mailbox sent per hour, so that the daily sending limit
 * applies across runs. Row keys contain SHA-256 hashes, never addresses.
 */

const RECIPIENT_PARTITION = 'recipient';
const RUN_PARTITION = 'run';
const CURSOR_ROW = 'cursor';
const ADMIN_ROW = 'admin-summary';

const timeRowSchema = z.object({ rowKey: z.string(), lastDigestAt: z.iso.datetime({ offset: true }) });
const recipientRowSchema = timeRowSchema.extend({ sentAt: z.iso.datetime({ offset: true }) });

/** A recipient's last digest. */
export interface RecipientDigestTime {
  /** Quarantine time of the newest item in it. */
  newestItemAt: Date;
  /** When it was sent. */
  sentAt: Date;
}
const sentRowSchema = z.object({ rowKey: z.string().regex(/^[0-9]{10}$/), recipients: z.number().int().min(0) });

/** Reads and writes the digest table. */
export class DigestState {
  constructor(private readonly table: TableClient) {}

  /** Time up to which every recipient's items were handled; undefined before the first run. */
  async readCursor(): Promise<Date | undefined> {
    return this.readTime(CURSOR_ROW);
  }

  async writeCursor(time: Date): Promise<void> {
    await this.writeTime(RUN_PARTITION, CURSOR_ROW, time);
  }

  /** Newest item time of the last administrator summary. */
  async readAdminSummaryTime(): Promise<Date | undefined> {
    return this.readTime(ADMIN_ROW);
  }

  async writeAdminSummaryTime(time: Date): Promise<void> {
    await this.writeTime(RUN_PARTITION, ADMIN_ROW, time);
  }

  /** Reads each recipient's last digest, keyed by {@link recipientKey}. */
  async readRecipientTimes(): Promise<Map<string, RecipientDigestTime>> {
    const times = new Map<string, RecipientDigestTime>();
    const filter = odata`PartitionKey eq ${RECIPIENT_PARTITION}`;
    try {
      const rows = this.table.listEntities({
        queryOptions: { filter, select: ['RowKey', 'lastDigestAt', 'sentAt'] },
      });
      for await (const entity of rows) {
        const row = recipientRowSchema.safeParse(entity);
        if (row.success) {
          times.set(row.data.rowKey, {
            newestItemAt: new Date(row.data.lastDigestAt),
            sentAt: new Date(row.data.sentAt),
          });
        }
      }
    } catch (error) {
      throw toStateError(error, 'read');
    }
    return times;
  }

  async writeRecipientTime(recipient: string, time: RecipientDigestTime): Promise<void> {
    const entity = {
      partitionKey: RECIPIENT_PARTITION,
      rowKey: recipientKey(recipient),
      lastDigestAt: time.newestItemAt.toISOString(),
      sentAt: time.sentAt.toISOString(),
    };
    try {
      await this.table.upsertEntity(entity, 'Replace');
    } catch (error) {
      throw toStateError(error, 'write');
    }
  }

  /**
   * Recipients `sender` sent to in the 25 hourly buckets up to `now`. One bucket more than a day
   * keeps the count on the safe side of a rolling 24-hour window.
   */
  async readRecipientsSent(sender: string, now: Date): Promise<number> {
    const since = hourBucket(new Date(now.getTime() - 24 * 3_600_000));
    const filter = odata`PartitionKey eq ${sentPartition(sender)} and RowKey ge ${since}`;
    let total = 0;
    try {
      for await (const entity of this.table.listEntities({ queryOptions: { filter } })) {
        const row = sentRowSchema.safeParse(entity);
        total += row.success ? row.data.recipients : 0;
      }
    } catch (error) {
      throw toStateError(error, 'read');
    }
    return total;
  }

  /** Adds recipients to `sender`'s bucket of the hour of `time`. One run writes at a time. */
  async addRecipientsSent(sender: string, time: Date, recipients: number): Promise<void> {
    const partitionKey = sentPartition(sender);
    const rowKey = hourBucket(time);
    try {
      let previous = 0;
      try {
        const row = sentRowSchema.safeParse(await this.table.getEntity(partitionKey, rowKey));
        previous = row.success ? row.data.recipients : 0;
      } catch (error) {
        if (!(error instanceof RestError && error.statusCode === 404)) {
          throw error;
        }
      }
      await this.table.upsertEntity(
        { partitionKey, rowKey, recipients: previous + recipients },
        'Replace',
      );
    } catch (error) {
      throw toStateError(error, 'write');
    }
  }

  private async readTime(rowKey: string): Promise<Date | undefined> {
    try {
      const row = timeRowSchema.safeParse(await this.table.getEntity(RUN_PARTITION, rowKey));
      return row.success ? new Date(row.data.lastDigestAt) : undefined;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) {
        return undefined;
      }
      throw toStateError(error, 'read');
    }
  }

  private async writeTime(partitionKey: string, rowKey: string, time: Date): Promise<void> {
    try {
      await this.table.upsertEntity(
        { partitionKey, rowKey, lastDigestAt: time.toISOString() },
        'Replace',
      );
    } catch (error) {
      throw toStateError(error, 'write');
    }
  }
}

/** Row key of a recipient: hex SHA-256 of the lower-cased address. */
export function recipientKey(address: string): string {
  return createHash('sha256').update(address.trim().toLowerCase(), 'utf8').digest('hex');
}

function sentPartition(sender: string): string {
  return `sent-${recipientKey(sender)}`;
}

/** `YYYYMMDDHH` of a time, in UTC. */
function hourBucket(time: Date): string {
  return time.toISOString().slice(0, 13).replace(/[-T]/g, '');
}

function toStateError(error: unknown, operation: string): ScannerError {
  return new ScannerError('blob-unavailable', `Digest state ${operation} failed`, {
    cause: error,
    fields: { operation },
  });
}
