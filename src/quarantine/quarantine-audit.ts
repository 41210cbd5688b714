import { randomBytes } from 'node:crypto';

import { odata, RestError, type TableClient } from '@azure/data-tables';
import { z } from 'zod';

import { ScannerError } from '../shared/errors.js';

/**
 * The quarantine audit log in Table storage: one entry per action on the quarantine. Entries are
 * only ever created (Insert Entity, which fails rather than overwrite), never updated or deleted
 * by mailsweep. Each entry is written to the partition of its UTC day (`d-YYYYMMDD`) and, when it
 * names an item, to the item's partition (`i-<id>`), so that "what happened today" and "what
 * happened to this item" each read one partition. Row keys start with the inverted time, so a
 * partition reads newest first.
 *
 * NOTE: append-only holds for mailsweep's code, not for the storage account: an identity with
 * the Storage Table Data Contributor role can still change rows. An immutable log needs a blob
 * container with a time-based retention policy, which this store does not use yet.
 */

/** Action recorded by an audit entry. */
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Every audited action. */
export const AUDIT_ACTIONS = [
  'list',
  'preview',
  'download',
  'release',
  'request-release',
  'list-requests',
  'approve-release',
  'deny-release',
  'delete',
  'legal-hold',
  'bulk',
  'purge',
  'audit-read',
] as const;

/** Result of an audited action. `not-found` also covers items the caller may not see. */
export type AuditResult = 'ok' | 'not-found' | 'forbidden' | 'invalid' | 'failed';

/** One audit entry. */
export interface AuditEntry {
  /** ISO 8601 time of the action. */
  time: string;
  /** Principal id (Entra object id, `local-admin`) or `system:retention` for the timer. */
  actorId: string;
  /** The caller's lower-cased address, when the identity has one. */
  actorMailbox?: string;
  /** `admin`, `reader`, `user` or `system`. */
  actorRole: 'admin' | 'reader' | 'user' | 'system';
  action: AuditAction;
  quarantineId?: string;
  result: AuditResult;
  /** Client address as the front end reported it (first X-Forwarded-For entry), if any. */
  clientIp?: string;
  /** Short, content-free detail: the filter names of a list, a count, an error code. */
  detail?: string;
}

/** Maximum detail length kept, in characters. */
const MAX_DETAIL_CHARS = 500;

const LATEST_MS = 9_999_999_999_999;

const entrySchema = z.object({
  time: z.string(),
  actorId: z.string(),
  actorMailbox: z.string().optional(),
  actorRole: z.enum(['admin', 'reader', 'user', 'system']),
  action: z.enum(AUDIT_ACTIONS),
  quarantineId: z.string().optional(),
  result: z.enum(['ok', 'not-found', 'forbidden', 'invalid', 'failed']),
  clientIp: z.string().optional(),
  detail: z.string().optional(),
});

/** Partition of one UTC day's entries. */
export function auditDayPartition(time: Date): string {
  return `d-${time.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** Partition of one item's entries. */
export function auditItemPartition(quarantineId: string): string {
  return `i-${quarantineId}`;
}

/** Appends to and reads the audit table. */
export class QuarantineAuditLog {
  constructor(private readonly table: TableClient) {}

  /**
   * Appends one entry. The row key is the inverted time plus 8 random bytes, so two entries in
   * the same millisecond never collide and nothing is ever overwritten.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async append(entry: AuditEntry): Promise<void> {
    const time = new Date(entry.time);
    const inverted = String(LATEST_MS - time.getTime()).padStart(13, '0');
    const rowKey = `${inverted}-${randomBytes(8).toString('hex')}`;
    const fields = Object.fromEntries(
      Object.entries({ ...entry, detail: entry.detail?.slice(0, MAX_DETAIL_CHARS) }).filter(
        ([, value]) => value !== undefined,
      ),
    );
    const partitions = [auditDayPartition(time)];
    if (entry.quarantineId !== undefined) {
      partitions.push(auditItemPartition(entry.quarantineId));
    }
    try {
      for (const partitionKey of partitions) {
        await this.table.createEntity({ partitionKey, rowKey, ...fields });
      }
    } catch (error) {
      const status = error instanceof RestError ? error.statusCode : undefined;
      throw new ScannerError('blob-unavailable', 'Quarantine audit append failed', {
        cause: error,
        fields: status === undefined ? { action: entry.action } : { action: entry.action, status },
      });
    }
  }

  /**
   * Reads up to `limit` entries of one partition, newest first, after the row key `after`.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async read(
    partitionKey: string,
    limit: number,
    after?: string,
  ): Promise<{ entries: AuditEntry[]; after?: string }> {
    const filter =
      after === undefined
        ? odata`PartitionKey eq ${partitionKey}`
        : odata`PartitionKey eq ${partitionKey} and RowKey gt ${after}`;
    const entries: AuditEntry[] = [];
    try {
      const pages = this.table
        .listEntities({ queryOptions: { filter } })
        .byPage({ maxPageSize: limit });
      for await (const page of pages) {
        for (const entity of page) {
          const parsed = entrySchema.safeParse(entity);
          if (parsed.success) {
            entries.push(parsed.data);
          }
          if (entries.length >= limit) {
            const after = typeof entity.rowKey === 'string' ? entity.rowKey : undefined;
            return { entries, after };
          }
        }
      }
    } catch (error) {
      throw new ScannerError('blob-unavailable', 'Quarantine audit query failed', {
        cause: error,
      });
    }
    return { entries };
  }
}
