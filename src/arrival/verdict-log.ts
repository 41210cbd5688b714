import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { z } from 'zod';

import type { Action, Category } from '../scanning/types.js';
import type { ScanMessageJob } from '../queue/jobs.js';
import { toMailboxKey, toTableError } from './table-keys.js';

/**
 * The verdict log: one entry per message and outcome, in the `verdicts` table. Each entry is
 * written twice, to the mailbox's partition (`m-<mailbox key>`) and to the day's partition
 * (`d-YYYYMMDD`, UTC), so that both "one mailbox" and "every mailbox" queries read one partition
 * range. Row keys start with the inverted time in milliseconds, so a partition lists newest first.
 */

/** Outcome of a message: scanned and acted on, gone, or failed. */
export type VerdictOutcome = 'scanned' | 'gone' | 'failed';

/** One entry of the verdict log. */
export interface VerdictRecord {
  mailbox: string;
  /** The store's item id after mailsweep acted (the new id after a move). */
  messageId: string;
  internetMessageId?: string;
  outcome: VerdictOutcome;
  /** Absent when the message was never scanned (gone, or failed before the scan). */
  category?: Category;
  /** Action carried out in the mailbox; `none` when nothing was done. */
  action: Action;
  /** ISO 8601 time the entry was written. */
  time: string;
  quarantineId?: string;
  trigger: ScanMessageJob['trigger'];
  /** ScannerError code of a failure, or a finding signature such as `limit.message-bytes`. */
  errorCode?: string;
  /** Finding signatures behind the verdict, comma-separated, at most {@link MAX_SIGNATURES_CHARS}. */
  signatures?: string;
  /** Name of the admin rule that decided the verdict, when a rule did. */
  decidingRule?: string;
}

/** Longest signature list kept with an entry, in characters (a Table string holds 32 K). */
export const MAX_SIGNATURES_CHARS = 2000;

const LATEST_MS = 9_999_999_999_999;

const recordSchema = z.object({
  mailbox: z.string(),
  messageId: z.string(),
  internetMessageId: z.string().optional(),
  outcome: z.enum(['scanned', 'gone', 'failed']),
  category: z.enum(['clean', 'spam', 'phishing', 'malware', 'policy', 'unscannable']).optional(),
  action: z.enum(['none', 'tag', 'junk', 'quarantine', 'delete']),
  time: z.string(),
  quarantineId: z.string().optional(),
  trigger: z.enum(['arrival', 'catch-up', 'scheduled', 'on-demand']),
  errorCode: z.string().optional(),
  signatures: z.string().optional(),
  decidingRule: z.string().optional(),
});

/** Row key prefix for a time: 13 digits of inverted milliseconds, so newer sorts first. */
export function toInvertedTime(time: Date): string {
  return String(LATEST_MS - time.getTime()).padStart(13, '0');
}

/** Partition of a mailbox's entries. */
export function mailboxPartition(mailbox: string): string {
  return `m-${toMailboxKey(mailbox)}`;
}

/** Partition of one UTC day's entries, for queries across mailboxes. */
export function dayPartition(time: Date): string {
  return `d-${time.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** Writes verdict log entries. */
export class VerdictLog {
  constructor(private readonly table: TableClient) {}

  /**
   * Writes one entry under a stable key. `keyTime` and `keySuffix` identify the entry, so that a
   * redelivered job overwrites its own entry instead of adding a second one.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async record(record: VerdictRecord, keyTime: Date, keySuffix: string): Promise<void> {
    const rowKey = `${toInvertedTime(keyTime)}-${keySuffix}`;
    const fields = Object.fromEntries(
      Object.entries(record).filter(([, value]) => value !== undefined),
    );
    try {
      for (const partitionKey of [mailboxPartition(record.mailbox), dayPartition(keyTime)]) {
        await this.table.upsertEntity({ partitionKey, rowKey, ...fields }, 'Replace');
      }
    } catch (error) {
      throw toTableError(error, 'verdict write');
    }
  }
}

/** Filters and paging of {@link queryVerdictPage}. */
export interface VerdictQuery {
  partitionKey: string;
  /** Inclusive bounds on the entry's key time. */
  from: Date;
  to: Date;
  category?: Category;
  maxPageSize: number;
  continuationToken?: string;
}

/** Reads one page of one partition, newest first. */
export async function queryVerdictPage(
  table: TableClient,
  query: VerdictQuery,
): Promise<{ records: VerdictRecord[]; continuationToken?: string }> {
  // Newer times have smaller inverted keys, so `to` gives the lower bound; `~` sorts after the
  // `-` that separates the time from the suffix.
  const lower = toInvertedTime(query.to);
  const upper = `${toInvertedTime(query.from)}~`;
  const filter =
    query.category === undefined
      ? odata`PartitionKey eq ${query.partitionKey} and RowKey ge ${lower} and RowKey lt ${upper}`
      : odata`PartitionKey eq ${query.partitionKey} and RowKey ge ${lower} and RowKey lt ${upper} and category eq ${query.category}`;
  try {
    const pages = table
      .listEntities({ queryOptions: { filter } })
      .byPage({ maxPageSize: query.maxPageSize, continuationToken: query.continuationToken });
    const next = await pages.next();
    if (next.done === true) {
      return { records: [] };
    }
    const page = next.value;
    const records = page.flatMap((entity) => {
      const parsed = recordSchema.safeParse(entity);
      return parsed.success ? [parsed.data] : [];
    });
    return { records, continuationToken: page.continuationToken };
  } catch (error) {
    throw toTableError(error, 'verdict query');
  }
}
