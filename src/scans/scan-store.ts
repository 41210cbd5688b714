import { randomBytes } from 'node:crypto';

import { odata, type TableClient, type TableTransaction } from '@azure/data-tables';
import { z } from 'zod';

import { toMailboxKey, tableStatus, toTableError } from '../arrival/table-keys.js';
import { toInvertedTime } from '../arrival/verdict-log.js';
import { ScannerError } from '../shared/errors.js';
import type { ScanDefinition } from './scan-request.js';

/**
 * Scans in the `scans` table. Partition `scan` has one row per scan (its definition and whether it
 * was cancelled). Partition `p-<scan id>` has one progress row per mailbox, written only by that
 * mailbox's job, so counters need no merge: a scan's totals are summed when read. Partition
 * `i-<scan id>-<mailbox key>` has one row per message the scan finished, which is both the
 * checkpoint's record of messages done and the scan report.
 */

/** Table transactions take at most 100 operations, all in one partition. */
const MAX_BATCH = 100;

/** A scan id: 13 digits of inverted creation time (newest sorts first) and 8 hex digits. */
export const SCAN_ID_PATTERN = /^[0-9]{13}-[0-9a-f]{8}$/;

export type ScanStatus = 'running' | 'cancelled';
export type MailboxScanStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** One scan's record. */
export interface ScanRecord {
  scanId: string;
  definition: ScanDefinition;
  status: ScanStatus;
  trigger: 'on-demand' | 'scheduled' | 'command-line';
  createdAt: string;
  createdBy: string;
  mailboxCount: number;
}

/** A planned folder of a mailbox scan. */
export interface PlannedFolder {
  id: string;
  path: string;
}

/** One mailbox's progress in a scan: its checkpoint and its counters. */
export interface MailboxProgress {
  mailbox: string;
  status: MailboxScanStatus;
  /** Folders to scan, fixed on the job's first run so that a resumed job uses the same list. */
  folders?: PlannedFolder[];
  /** Index in `folders` of the folder being scanned. */
  folderIndex: number;
  /** Page cursor in that folder: only messages received before this ISO time remain. */
  before?: string;
  scanned: number;
  skipped: number;
  errors: number;
  byCategory: Record<string, number>;
  errorCode?: string;
  errorMessage?: string;
  /** Things the scan could not cover, such as `archive-unreachable` or `folder-not-found`. */
  notes?: string[];
  startedAt?: string;
  updatedAt?: string;
  finishedAt?: string;
  segments: number;
}

/** A mailbox's progress row with the ETag it was read with. */
export interface ProgressRow {
  scanId: string;
  mailboxKey: string;
  progress: MailboxProgress;
  etag: string;
}

/** One message in a scan's report. Never a subject, body or sender. */
export interface ScanItem {
  mailbox: string;
  folder: string;
  receivedAt?: string;
  /** `scanned` (report mode), `acted`, `skipped` (already finished by scan on arrival) or `error`. */
  outcome: 'scanned' | 'acted' | 'skipped' | 'error';
  category?: string;
  action?: string;
  /** Deciding rule or finding signatures, comma-separated. */
  rule?: string;
  quarantineId?: string;
  error?: string;
  scannedAt: string;
}

/** Thrown when another invocation wrote a progress row since this one read it. */
export class ProgressConflictError extends Error {
  constructor() {
    super('The mailbox scan progress row was written by another invocation');
    this.name = 'ProgressConflictError';
  }
}

const definitionSchema = z.object({
  scope: z.union([
    z.object({ mailboxes: z.array(z.string()) }),
    z.object({ group: z.string() }),
    z.object({ all: z.literal(true) }),
  ]),
  since: z.string(),
  until: z.string(),
  byModifiedTime: z.boolean(),
  folders: z.union([z.literal('all'), z.array(z.string())]),
  includeArchive: z.boolean(),
  includeRecoverableItems: z.boolean(),
  mode: z.enum(['report', 'act']),
  incremental: z.boolean(),
  retro: z.boolean(),
});

const scanRowSchema = z.object({
  rowKey: z.string(),
  definition: z.string().transform((text, context) => {
    try {
      return definitionSchema.parse(JSON.parse(text));
    } catch {
      context.addIssue({ code: 'custom', message: 'unreadable definition' });
      return z.NEVER;
    }
  }),
  status: z.enum(['running', 'cancelled']),
  trigger: z.enum(['on-demand', 'scheduled', 'command-line']),
  createdAt: z.string(),
  createdBy: z.string(),
  mailboxCount: z.number().int().min(0),
});

const jsonText = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, context) => {
    try {
      return schema.parse(JSON.parse(text)) as z.infer<T>;
    } catch {
      context.addIssue({ code: 'custom', message: 'unreadable JSON' });
      return z.NEVER;
    }
  });

const progressRowSchema = z.object({
  rowKey: z.string(),
  etag: z.string(),
  mailbox: z.string(),
  status: z.enum(['queued', 'running', 'done', 'failed', 'cancelled']),
  folders: jsonText(z.array(z.object({ id: z.string(), path: z.string() }))).optional(),
  folderIndex: z.number().int().min(0),
  before: z.string().optional(),
  scanned: z.number().int().min(0),
  skipped: z.number().int().min(0),
  errors: z.number().int().min(0),
  byCategory: jsonText(z.record(z.string(), z.number())),
  errorCode: z.string().optional(),
  errorMessage: z.string().optional(),
  notes: jsonText(z.array(z.string())).optional(),
  startedAt: z.string().optional(),
  updatedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  segments: z.number().int().min(0),
});

const itemRowSchema = z.object({
  rowKey: z.string(),
  mailbox: z.string(),
  folder: z.string(),
  receivedAt: z.string().optional(),
  outcome: z.enum(['scanned', 'acted', 'skipped', 'error']),
  category: z.string().optional(),
  action: z.string().optional(),
  rule: z.string().optional(),
  quarantineId: z.string().optional(),
  error: z.string().optional(),
  scannedAt: z.string(),
});

/** Reads and writes scans, progress rows and report rows. */
export class ScanStore {
  constructor(private readonly table: TableClient) {}

  /** Returns a new scan id. */
  static newScanId(now: Date): string {
    return `${toInvertedTime(now)}-${randomBytes(4).toString('hex')}`;
  }

  /**
   * Stores a scan and a `queued` progress row for each mailbox. The record is written last, so a
   * scan that is listed always has all its progress rows.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async create(record: ScanRecord, mailboxes: readonly string[]): Promise<void> {
    const now = record.createdAt;
    const rows = mailboxes.map((mailbox) => ({
      partitionKey: progressPartition(record.scanId),
      rowKey: toMailboxKey(mailbox),
      ...toProgressEntity({
        mailbox,
        status: 'queued',
        folderIndex: 0,
        scanned: 0,
        skipped: 0,
        errors: 0,
        byCategory: {},
        updatedAt: now,
        segments: 0,
      }),
    }));
    try {
      for (let start = 0; start < rows.length; start += MAX_BATCH) {
        const actions: TableTransaction['actions'] = rows
          .slice(start, start + MAX_BATCH)
          .map((row) => ['upsert', row, 'Replace']);
        await this.table.submitTransaction(actions);
      }
      await this.table.upsertEntity(
        {
          partitionKey: 'scan',
          rowKey: record.scanId,
          definition: JSON.stringify(record.definition),
          status: record.status,
          trigger: record.trigger,
          createdAt: record.createdAt,
          createdBy: record.createdBy,
          mailboxCount: record.mailboxCount,
        },
        'Replace',
      );
    } catch (error) {
      throw toTableError(error, 'scan create');
    }
  }

  /** Returns a scan, or undefined when there is none with this id. */
  async get(scanId: string): Promise<ScanRecord | undefined> {
    let entity: Record<string, unknown>;
    try {
      entity = await this.table.getEntity('scan', scanId);
    } catch (error) {
      if (tableStatus(error) === 404) {
        return undefined;
      }
      throw toTableError(error, 'scan read');
    }
    return toScanRecord(entity);
  }

  /** Lists the newest scans first. */
  async list(limit: number): Promise<ScanRecord[]> {
    const records: ScanRecord[] = [];
    try {
      const pages = this.table
        .listEntities({ queryOptions: { filter: odata`PartitionKey eq 'scan'` } })
        .byPage({ maxPageSize: limit });
      for await (const page of pages) {
        for (const entity of page) {
          const record = toScanRecord(entity);
          if (record !== undefined) {
            records.push(record);
          }
        }
        if (records.length >= limit) {
          break;
        }
      }
    } catch (error) {
      throw toTableError(error, 'scan list');
    }
    return records.slice(0, limit);
  }

  /** Marks a scan cancelled; its jobs stop at their next page. */
  async cancel(scanId: string): Promise<void> {
    try {
      await this.table.updateEntity({ partitionKey: 'scan', rowKey: scanId, status: 'cancelled' }, 'Merge');
    } catch (error) {
      throw toTableError(error, 'scan cancel');
    }
  }

  /** Reads one mailbox's progress row, or undefined when the scan has no such mailbox. */
  async readProgress(scanId: string, mailbox: string): Promise<ProgressRow | undefined> {
    const mailboxKey = toMailboxKey(mailbox);
    let entity: Record<string, unknown>;
    try {
      entity = await this.table.getEntity(progressPartition(scanId), mailboxKey);
    } catch (error) {
      if (tableStatus(error) === 404) {
        return undefined;
      }
      throw toTableError(error, 'scan progress read');
    }
    const row = toProgressRow(scanId, entity);
    if (row === undefined) {
      throw new ScannerError('blob-integrity', 'A scan progress row is unreadable', {
        fields: { scanId },
      });
    }
    return row;
  }

  /**
   * Replaces a progress row if no other invocation wrote it since it was read, and returns it with its new ETag.
   * @throws ProgressConflictError when the ETag no longer matches.
   */
  async writeProgress(row: ProgressRow, progress: MailboxProgress): Promise<ProgressRow> {
    try {
      const result = await this.table.updateEntity(
        { partitionKey: progressPartition(row.scanId), rowKey: row.mailboxKey, ...toProgressEntity(progress) },
        'Replace',
        { etag: row.etag },
      );
      return { ...row, progress, etag: result.etag ?? row.etag };
    } catch (error) {
      const status = tableStatus(error);
      if (status === 412 || status === 404) {
        throw new ProgressConflictError();
      }
      throw toTableError(error, 'scan progress write');
    }
  }

  /** Reads every mailbox's progress row of a scan. */
  async listProgress(scanId: string): Promise<ProgressRow[]> {
    const rows: ProgressRow[] = [];
    try {
      const entities = this.table.listEntities({
        queryOptions: { filter: odata`PartitionKey eq ${progressPartition(scanId)}` },
      });
      for await (const entity of entities) {
        const row = toProgressRow(scanId, entity);
        if (row !== undefined) {
          rows.push(row);
        }
      }
    } catch (error) {
      throw toTableError(error, 'scan progress list');
    }
    return rows;
  }

  /** Stores a message's report row; the key makes a retried write replace its own row. */
  async writeItem(scanId: string, mailboxKey: string, itemKey: string, item: ScanItem): Promise<void> {
    try {
      await this.table.upsertEntity(
        { partitionKey: itemPartition(scanId, mailboxKey), rowKey: itemKey, ...withoutUndefined(item) },
        'Replace',
      );
    } catch (error) {
      throw toTableError(error, 'scan item write');
    }
  }

  /**
   * Stores many report rows of one mailbox in transactions of up to 100 rows, the most Table
   * storage takes in one. Rows are replaced by key, so a retried write stores no second row; each
   * transaction is all or nothing, but a failure after the first leaves the earlier ones stored.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async writeItems(scanId: string, mailboxKey: string, rows: ReadonlyMap<string, ScanItem>): Promise<void> {
    const actions: TableTransaction['actions'] = [...rows].map(([itemKey, item]) => [
      'upsert',
      { partitionKey: itemPartition(scanId, mailboxKey), rowKey: itemKey, ...withoutUndefined(item) },
      'Replace',
    ]);
    try {
      for (let start = 0; start < actions.length; start += MAX_BATCH) {
        await this.table.submitTransaction(actions.slice(start, start + MAX_BATCH));
      }
    } catch (error) {
      throw toTableError(error, 'scan item batch write');
    }
  }

  /** Reads one mailbox's report rows, keyed by item key. */
  async readItems(scanId: string, mailboxKey: string): Promise<Map<string, ScanItem>> {
    const items = new Map<string, ScanItem>();
    for await (const [key, item] of this.queryItems(odata`PartitionKey eq ${itemPartition(scanId, mailboxKey)}`)) {
      items.set(key, item);
    }
    return items;
  }

  /** Reads every report row of a scan, mailbox by mailbox. */
  async *listItems(scanId: string): AsyncIterable<ScanItem> {
    // `-` sorts just before `.`, so this range contains exactly the partitions `i-<scan id>-*`.
    const low = `i-${scanId}-`;
    const high = `i-${scanId}.`;
    for await (const [, item] of this.queryItems(odata`PartitionKey ge ${low} and PartitionKey lt ${high}`)) {
      yield item;
    }
  }

  private async *queryItems(filter: string): AsyncIterable<[string, ScanItem]> {
    try {
      for await (const entity of this.table.listEntities({ queryOptions: { filter } })) {
        const parsed = itemRowSchema.safeParse(entity);
        if (parsed.success) {
          const { rowKey, ...item } = parsed.data;
          yield [rowKey, item];
        }
      }
    } catch (error) {
      throw toTableError(error, 'scan item list');
    }
  }
}

function progressPartition(scanId: string): string {
  return `p-${scanId}`;
}

function itemPartition(scanId: string, mailboxKey: string): string {
  return `i-${scanId}-${mailboxKey}`;
}

function toScanRecord(entity: Record<string, unknown>): ScanRecord | undefined {
  const parsed = scanRowSchema.safeParse(entity);
  if (!parsed.success) {
    return undefined;
  }
  const { rowKey, ...rest } = parsed.data;
  return { scanId: rowKey, ...rest };
}

function toProgressRow(scanId: string, entity: Record<string, unknown>): ProgressRow | undefined {
  const parsed = progressRowSchema.safeParse(entity);
  if (!parsed.success) {
    return undefined;
  }
  const { rowKey, etag, ...progress } = parsed.data;
  return { scanId, mailboxKey: rowKey, etag, progress };
}

function toProgressEntity(progress: MailboxProgress): Record<string, unknown> {
  return withoutUndefined({
    ...progress,
    folders: progress.folders === undefined ? undefined : JSON.stringify(progress.folders),
    byCategory: JSON.stringify(progress.byCategory),
    notes: progress.notes === undefined ? undefined : JSON.stringify(progress.notes),
  });
}

function withoutUndefined<T extends object>(value: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined));
}
