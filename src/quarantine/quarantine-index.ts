import { createHash } from 'node:crypto';

import { odata, RestError, type TableClient, type TransactionAction } from '@azure/data-tables';
import { z } from 'zod';

import type { Category } from '../scanning/types.js';
import { ScannerError } from '../shared/errors.js';
import { PartitionMerge } from './index-merge.js';
import { normalizeMailbox } from './quarantine-id.js';
import type { QuarantineMetadata } from './quarantine-types.js';

/**
 * The quarantine index: Table storage rows that let the API list items by filter, newest first,
 * without downloading a metadata blob per item. Each item has one row in the `all` scope and one
 * row in partition `a-<SHA-256 of address>` for its mailbox and each distinct recipient, so that
 * a user's listing reads only the partitions of their own addresses. Row keys are the inverted
 * quarantine time in milliseconds, a dash and the item id, so every partition reads newest first.
 * The metadata blob stays the authority; the index only finds items.
 *
 * The `all` scope is split by time into partitions `all-<first 5 digits of the row key>`, each
 * covering 10^8 ms (about 27.8 hours). Table storage's design guide warns against one hot
 * partition that takes every write. Split by time, writes go to the newest partition and older
 * ones only serve reads. Because the partition name is a prefix of the row key, a range query
 * over `all-` returns every item newest first.
 */

/**
 * Scope name of every item, read by administrators, readers, retention and digests. It is not a
 * partition key itself: {@link scopeFilter} turns it into a range over the `all-` partitions.
 */
export const ALL_PARTITION = 'all';

/** Prefix of the time-bucketed partitions of the `all` scope. */
const ALL_PARTITION_PREFIX = 'all-';

/** Leading row-key digits that name an `all-` partition: buckets of 10^8 ms. */
const ALL_BUCKET_DIGITS = 5;

/**
 * Most addresses indexed per item (the mailbox first, then recipients in order). A message with
 * thousands of recipients would otherwise cost thousands of writes.
 */
export const MAX_INDEXED_ADDRESSES = 100;

/** Maximum subject length kept in a row, in characters (a Table string property takes 32 K). */
const MAX_INDEXED_SUBJECT_CHARS = 1024;

/** Maximum length of the signature list kept in a row, in characters. */
const MAX_INDEXED_SIGNATURES_CHARS = 2000;

const LATEST_MS = 9_999_999_999_999;

/** Most entities one query page may return (Table storage's limit). */
const MAX_PAGE_ROWS = 1000;

/** Most operations one entity group transaction may hold (Table storage's limit). */
const MAX_TRANSACTION_ACTIONS = 100;

/** One listed item: what the list endpoint returns per item, without recipients or body. */
export interface QuarantineSummary {
  id: string;
  mailbox?: string;
  sender?: string;
  subject?: string;
  category: Category;
  /** Finding signatures behind the verdict, in the order the verdict lists them. */
  signatures: string[];
  receivedAt?: string;
  quarantinedAt: string;
  expiresAt: string;
  size: number;
  /** ISO 8601 time the item was released to its mailbox; unset while it is quarantined. */
  releasedAt?: string;
  /** Error code of the last failed release; the item stayed quarantined. */
  releaseError?: string;
  /** True while the item is on legal hold: never purged or deleted. */
  legalHold?: boolean;
}

const rowSchema = z.object({
  rowKey: z.string(),
  id: z.string().regex(/^[0-9a-f]{32}$/),
  mailbox: z.string().optional(),
  mailboxHash: z.string(),
  sender: z.string().optional(),
  subject: z.string().optional(),
  category: z.enum(['clean', 'spam', 'phishing', 'malware', 'policy', 'unscannable']),
  signatures: z.string().default(''),
  receivedAt: z.string().optional(),
  quarantinedAt: z.string(),
  expiresAt: z.string(),
  size: z.number(),
  addressPartitions: z.string().default(''),
  releasedAt: z.string().optional(),
  releaseError: z.string().optional(),
  legalHold: z.boolean().optional(),
});

type IndexRow = z.infer<typeof rowSchema>;

/** Hex SHA-256 of a normalized address; keys never hold addresses, which may contain `/` or `#`. */
export function toAddressHash(address: string): string {
  return createHash('sha256').update(normalizeMailbox(address), 'utf8').digest('hex');
}

/** Partition of the items a given address may see as a user. */
export function addressPartition(address: string): string {
  return `a-${toAddressHash(address)}`;
}

/** Row key of an item: inverted quarantine time (13 digits), a dash, the id. */
export function toIndexRowKey(quarantinedAt: string, id: string): string {
  const inverted = String(LATEST_MS - Date.parse(quarantinedAt)).padStart(13, '0');
  return `${inverted}-${id}`;
}

/** Lowest row key for items quarantined at or before `time` (newer items sort first). */
export function rowKeyAtOrBefore(time: Date): string {
  return String(LATEST_MS - time.getTime()).padStart(13, '0');
}

/** Addresses an item is indexed under: its mailbox, then its recipients, lower-cased, unique. */
export function indexedAddresses(metadata: QuarantineMetadata): string[] {
  const addresses = [metadata.mailbox, ...metadata.recipients]
    .map((address) => normalizeMailbox(address))
    .filter((address) => address !== '');
  return [...new Set(addresses)].slice(0, MAX_INDEXED_ADDRESSES);
}

/**
 * Minimum page size per partition when several partitions are merged. Each partition otherwise
 * gets an equal share of the page size, so the first read of a merge stays near one page.
 */
const MIN_MERGED_PAGE_ROWS = 10;

/** Filters a query applies inside each of its partitions. */
export interface IndexQuery {
  /**
   * Scopes read, at least one: {@link ALL_PARTITION}, or the address partitions of the caller.
   * Several are merged newest first, each item once.
   */
  partitionKeys: readonly string[];
  /** Only items of this mailbox (hash compared in the query). */
  mailboxHash?: string;
  category?: Category;
  /** Lower-cased sender address, compared for equality in the query. */
  sender?: string;
  /** Only items whose verdict has this finding signature (checked on each row). */
  signature?: string;
  /** Case-insensitive substring of the subject (checked on each row). */
  subjectText?: string;
  /** Inclusive bounds on the quarantine time. */
  from?: Date;
  to?: Date;
  /** Row key of the last item of the previous page. */
  after?: string;
  limit: number;
  /**
   * Rows read for one page, so that a rare text match cannot make one request read everything.
   * No page is requested past it. Across several partitions, the pages requested together when
   * the bound was not yet reached may pass it by at most one page per partition.
   */
  maxScannedRows: number;
}

/** One page of a query. `after` is set when more rows may follow. */
export interface IndexPage {
  items: QuarantineSummary[];
  after?: string;
}

/** Reads and writes the quarantine index table. */
export class QuarantineIndex {
  constructor(private readonly table: TableClient) {}

  /**
   * Writes an item's rows, replacing any earlier rows of the same item. The `all` row goes last,
   * so that an item whose `all` row exists has all its rows.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async add(metadata: QuarantineMetadata): Promise<void> {
    try {
      for (const entity of toIndexEntities(metadata)) {
        await this.table.upsertEntity(entity, 'Replace');
      }
    } catch (error) {
      throw toIndexError(error, 'write');
    }
  }

  /**
   * Writes the rows of many items with entity group transactions: rows are grouped by partition
   * and sent 100 at a time (the most one transaction may hold). Address rows go first and the
   * `all` rows last, as in {@link add}. For bulk loads such as a rebuild or a benchmark seed.
   * @throws ScannerError `blob-unavailable` when Table storage fails; a retry is safe.
   */
  async addBatch(items: readonly QuarantineMetadata[]): Promise<void> {
    const byPartition = new Map<string, TransactionAction[]>();
    for (const metadata of items) {
      for (const entity of toIndexEntities(metadata)) {
        const actions = byPartition.get(entity.partitionKey) ?? [];
        actions.push(['upsert', entity, 'Replace']);
        byPartition.set(entity.partitionKey, actions);
      }
    }
    const keys = [...byPartition.keys()];
    const partitions = [
      ...keys.filter((key) => !isAllPartition(key)),
      ...keys.filter((key) => isAllPartition(key)),
    ];
    try {
      for (const partitionKey of partitions) {
        const actions = byPartition.get(partitionKey) ?? [];
        for (let start = 0; start < actions.length; start += MAX_TRANSACTION_ACTIONS) {
          await this.table.submitTransaction(actions.slice(start, start + MAX_TRANSACTION_ACTIONS));
        }
      }
    } catch (error) {
      throw toIndexError(error, 'write');
    }
  }

  /**
   * Deletes an item's address rows; the `all` row is removed by {@link removeAllRow} once the
   * blobs are gone, so that an interrupted delete is still found by retention.
   */
  async removeAddressRows(rowKey: string, addressPartitions: readonly string[]): Promise<void> {
    for (const partitionKey of addressPartitions) {
      await this.deleteRow(partitionKey, rowKey);
    }
  }

  /** Deletes an item's row in the `all` scope. A missing row is not an error. */
  async removeAllRow(rowKey: string): Promise<void> {
    await this.deleteRow(allPartitionOf(rowKey), rowKey);
  }

  /**
   * Records that an item was released, on its `all` row and every address row.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async markReleased(
    item: { rowKey: string; addressPartitions: readonly string[] },
    releasedAt: Date,
  ): Promise<void> {
    const fields = { rowKey: item.rowKey, releasedAt: releasedAt.toISOString() };
    try {
      for (const partitionKey of [...item.addressPartitions, allPartitionOf(item.rowKey)]) {
        await this.table.updateEntity({ partitionKey, ...fields }, 'Merge');
      }
    } catch (error) {
      throw toIndexError(error, 'write');
    }
  }

  /**
   * Records the error code of a failed release on every row of the item, so that listings show
   * why the item is still quarantined. A later success clears nothing: `releasedAt` wins.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async markReleaseFailed(
    item: { rowKey: string; addressPartitions: readonly string[] },
    code: string,
    at: Date,
  ): Promise<void> {
    await this.mergeAll(item, { releaseError: code, releaseErrorAt: at.toISOString() });
  }

  /**
   * Sets or clears the legal hold on every row of the item. Retention skips held items.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async setLegalHold(
    item: { rowKey: string; addressPartitions: readonly string[] },
    hold: boolean,
  ): Promise<void> {
    await this.mergeAll(item, { legalHold: hold });
  }

  /** True when the item with this row key is on legal hold (read from its `all` row). */
  async isOnHold(rowKey: string): Promise<boolean> {
    try {
      const entity = await this.table.getEntity(allPartitionOf(rowKey), rowKey);
      return entity.legalHold === true;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) {
        return false;
      }
      throw toIndexError(error, 'read');
    }
  }

  private async mergeAll(
    item: { rowKey: string; addressPartitions: readonly string[] },
    fields: Record<string, string | boolean>,
  ): Promise<void> {
    try {
      for (const partitionKey of [...item.addressPartitions, allPartitionOf(item.rowKey)]) {
        await this.table.updateEntity({ partitionKey, rowKey: item.rowKey, ...fields }, 'Merge');
      }
    } catch (error) {
      throw toIndexError(error, 'write');
    }
  }

  /** Returns the `all` row of an item, or undefined when the item is not indexed. */
  async findRow(metadata: Pick<QuarantineMetadata, 'id' | 'quarantinedAt'>): Promise<
    | {
        rowKey: string;
        addressPartitions: string[];
        releasedAt?: string;
        releaseError?: string;
        legalHold?: boolean;
      }
    | undefined
  > {
    const rowKey = toIndexRowKey(metadata.quarantinedAt, metadata.id);
    try {
      const entity = await this.table.getEntity(allPartitionOf(rowKey), rowKey);
      const parsed = rowSchema.safeParse(entity);
      return parsed.success
        ? {
            rowKey,
            addressPartitions: splitList(parsed.data.addressPartitions),
            releasedAt: parsed.data.releasedAt,
            releaseError: parsed.data.releaseError,
            legalHold: parsed.data.legalHold,
          }
        : { rowKey, addressPartitions: [] };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) {
        return undefined;
      }
      throw toIndexError(error, 'read');
    }
  }

  /**
   * Reads one page newest first, across the query's partitions. Partition, mailbox, category,
   * sender and time go into the OData filter, built with the `odata` tag so that values are
   * quoted and cannot change the query. Signature and subject text are checked on each row. A
   * page stops at `limit` items or once `maxScannedRows` rows were read, and then returns the
   * position to resume from.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async query(query: IndexQuery): Promise<IndexPage> {
    if (query.partitionKeys.length === 0) {
      return { items: [] };
    }
    // Filters checked on each row may skip most rows, so those queries read the most a page
    // may hold (1,000) and need fewer round trips.
    const rowChecked = query.signature !== undefined || query.subjectText !== undefined;
    const pageSize = rowChecked
      ? MAX_PAGE_ROWS
      : Math.min(MAX_PAGE_ROWS, Math.max(query.limit, 100));
    const partitionPageSize =
      query.partitionKeys.length === 1
        ? pageSize
        : Math.max(MIN_MERGED_PAGE_ROWS, Math.ceil(pageSize / query.partitionKeys.length));
    const merge = new PartitionMerge(
      query.partitionKeys.map((partitionKey) =>
        this.table
          .listEntities({ queryOptions: { filter: buildFilter(query, partitionKey) } })
          .byPage({ maxPageSize: partitionPageSize })
          [Symbol.asyncIterator](),
      ),
      query.maxScannedRows,
    );

    const items: QuarantineSummary[] = [];
    let lastRowKey: string | undefined;
    try {
      for (let entity = await merge.next(); entity !== undefined; entity = await merge.next()) {
        lastRowKey = entity.rowKey;
        const parsed = rowSchema.safeParse(entity);
        if (parsed.success && matchesRow(parsed.data, query)) {
          items.push(toSummary(parsed.data));
        }
        if (items.length >= query.limit) {
          return { items, after: lastRowKey };
        }
      }
    } catch (error) {
      throw toIndexError(error, 'query');
    }
    if (merge.stoppedAtLimit && lastRowKey !== undefined) {
      return { items, after: lastRowKey };
    }
    return { items };
  }

  /**
   * Lists the `all` rows of items whose `expiresAt` is at or before `now`, up to `limit` rows.
   * Items on legal hold are skipped. They are checked after the query, because Table storage
   * drops rows that lack a property compared in a filter, and most rows have no `legalHold`.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async listExpired(
    now: Date,
    limit: number,
  ): Promise<{ id: string; rowKey: string; addressPartitions: string[] }[]> {
    const nowIso = now.toISOString();
    const filter = `${scopeFilter(ALL_PARTITION)} and ${odata`expiresAt le ${nowIso}`}`;
    const expired: { id: string; rowKey: string; addressPartitions: string[] }[] = [];
    try {
      for await (const entity of this.table.listEntities({ queryOptions: { filter } })) {
        const parsed = rowSchema.safeParse(entity);
        if (parsed.success && parsed.data.legalHold !== true) {
          expired.push({
            id: parsed.data.id,
            rowKey: parsed.data.rowKey,
            addressPartitions: splitList(parsed.data.addressPartitions),
          });
        }
        if (expired.length >= limit) {
          break;
        }
      }
    } catch (error) {
      throw toIndexError(error, 'query');
    }
    return expired;
  }

  private async deleteRow(partitionKey: string, rowKey: string): Promise<void> {
    try {
      await this.table.deleteEntity(partitionKey, rowKey);
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) {
        return;
      }
      throw toIndexError(error, 'delete');
    }
  }
}

/**
 * Builds the index rows of an item: one per indexed address, then the `all` row, which names the
 * address partitions so that a removal can find every row from it alone.
 */
export function toIndexEntities(
  metadata: QuarantineMetadata,
): ({ partitionKey: string; rowKey: string } & Record<string, string | number>)[] {
  const rowKey = toIndexRowKey(metadata.quarantinedAt, metadata.id);
  const partitions = indexedAddresses(metadata).map(addressPartition);
  const fields = toRowFields(metadata, partitions);
  return [...partitions, allPartitionOf(rowKey)].map((partitionKey) => ({
    partitionKey,
    rowKey,
    ...fields,
  }));
}

function toRowFields(
  metadata: QuarantineMetadata,
  partitions: readonly string[],
): Record<string, string | number> {
  const fields: Record<string, string | number | undefined> = {
    id: metadata.id,
    mailbox: metadata.mailbox === undefined ? undefined : normalizeMailbox(metadata.mailbox),
    mailboxHash: toAddressHash(metadata.mailbox ?? ''),
    sender: metadata.sender === undefined ? undefined : normalizeMailbox(metadata.sender),
    subject: metadata.subject?.slice(0, MAX_INDEXED_SUBJECT_CHARS),
    category: metadata.verdict.category,
    signatures: joinSignatures(metadata.verdict.findings.map((finding) => finding.signature)),
    receivedAt: metadata.receivedAt,
    quarantinedAt: metadata.quarantinedAt,
    expiresAt: metadata.expiresAt,
    size: metadata.size,
    addressPartitions: partitions.join(','),
  };
  return Object.fromEntries(
    Object.entries(fields).filter(
      (entry): entry is [string, string | number] => entry[1] !== undefined,
    ),
  );
}

/** Joins unique signatures with commas, dropping whole entries past the length cap. */
function joinSignatures(signatures: readonly string[]): string {
  let joined = '';
  for (const signature of new Set(signatures)) {
    const next = joined === '' ? signature : `${joined},${signature}`;
    if (next.length > MAX_INDEXED_SIGNATURES_CHARS) {
      break;
    }
    joined = next;
  }
  return joined;
}

function splitList(value: string): string[] {
  return value === '' ? [] : value.split(',');
}

function buildFilter(query: IndexQuery, partitionKey: string): string {
  // A continuation lies past the `to` bound, so it is the tighter newest bound when both exist.
  const toRowKey = query.to === undefined ? undefined : rowKeyAtOrBefore(query.to);
  const fromRowKey = query.from === undefined ? undefined : rowKeyAtOrBefore(query.from);
  const clauses = [
    scopeFilter(partitionKey, { newestRowKey: query.after ?? toRowKey, oldestRowKey: fromRowKey }),
  ];
  if (query.to !== undefined) {
    clauses.push(odata`RowKey ge ${rowKeyAtOrBefore(query.to)}`);
  }
  if (query.from !== undefined) {
    // `~` sorts after the `-` that separates the time from the id.
    clauses.push(odata`RowKey lt ${`${rowKeyAtOrBefore(query.from)}~`}`);
  }
  if (query.after !== undefined) {
    clauses.push(odata`RowKey gt ${query.after}`);
  }
  if (query.mailboxHash !== undefined) {
    clauses.push(odata`mailboxHash eq ${query.mailboxHash}`);
  }
  if (query.category !== undefined) {
    clauses.push(odata`category eq ${query.category}`);
  }
  if (query.sender !== undefined) {
    clauses.push(odata`sender eq ${query.sender}`);
  }
  return clauses.join(' and ');
}

/** Partition of an item's row in the `all` scope, from its row key. */
export function allPartitionOf(rowKey: string): string {
  return `${ALL_PARTITION_PREFIX}${rowKey.slice(0, ALL_BUCKET_DIGITS)}`;
}

/** True for a partition of the `all` scope. */
export function isAllPartition(partitionKey: string): boolean {
  return partitionKey.startsWith(ALL_PARTITION_PREFIX);
}

/**
 * OData filter that selects one scope: an address partition by its key, or every partition of
 * the `all` scope. For `all`, optional row-key bounds narrow the range to the partitions that
 * can hold them: `newestRowKey` is the smallest row key wanted and `oldestRowKey` the largest
 * row-key prefix wanted. The caller still compares row keys; these bounds only spare reads.
 */
export function scopeFilter(
  scope: string,
  bounds: { newestRowKey?: string; oldestRowKey?: string } = {},
): string {
  if (scope !== ALL_PARTITION) {
    return odata`PartitionKey eq ${scope}`;
  }
  const lower =
    bounds.newestRowKey === undefined ? ALL_PARTITION_PREFIX : allPartitionOf(bounds.newestRowKey);
  // `.` sorts right after the `-` of the prefix, so `all.` is past every `all-` partition.
  const clauses = [odata`PartitionKey ge ${lower}`, odata`PartitionKey lt ${'all.'}`];
  if (bounds.oldestRowKey !== undefined) {
    clauses.push(odata`PartitionKey le ${allPartitionOf(bounds.oldestRowKey)}`);
  }
  return clauses.join(' and ');
}

function matchesRow(row: IndexRow, query: IndexQuery): boolean {
  if (query.signature !== undefined && !splitList(row.signatures).includes(query.signature)) {
    return false;
  }
  if (query.subjectText !== undefined) {
    const subject = (row.subject ?? '').toLowerCase();
    return subject.includes(query.subjectText.toLowerCase());
  }
  return true;
}

function toSummary(row: IndexRow): QuarantineSummary {
  return {
    id: row.id,
    mailbox: row.mailbox,
    sender: row.sender,
    subject: row.subject,
    category: row.category,
    signatures: splitList(row.signatures),
    receivedAt: row.receivedAt,
    quarantinedAt: row.quarantinedAt,
    expiresAt: row.expiresAt,
    size: row.size,
    releasedAt: row.releasedAt,
    releaseError: row.releasedAt === undefined ? row.releaseError : undefined,
    legalHold: row.legalHold,
  };
}

function toIndexError(error: unknown, operation: string): ScannerError {
  if (error instanceof ScannerError) {
    return error;
  }
  const status = error instanceof RestError ? error.statusCode : undefined;
  return new ScannerError('blob-unavailable', `Quarantine index ${operation} failed`, {
    cause: error,
    fields: status === undefined ? { operation } : { operation, status },
  });
}
