import { randomBytes } from 'node:crypto';

import { odata, RestError, type TableClient } from '@azure/data-tables';
import { z } from 'zod';

import { ScannerError } from '../shared/errors.js';

/**
 * Release requests in Table storage: a user asks for an item they may not release themselves
 * (malware, phishing, policy), and an administrator approves or denies. All requests share one
 * partition, and the request id is the row key: the inverted request time and 8 random bytes, so
 * that the partition reads newest first and an id names exactly one row.
 */

const PARTITION = 'requests';

const LATEST_MS = 9_999_999_999_999;

/** State of a release request. */
export type ReleaseRequestStatus = 'pending' | 'approved' | 'denied';

/** A request id: 13 digits of inverted time, then 16 lowercase hex characters. */
export const releaseRequestIdSchema = z
  .string()
  .regex(/^[0-9]{13}[0-9a-f]{16}$/, 'must be a release request id from this API');

const rowSchema = z.object({
  rowKey: z.string(),
  quarantineId: z.string().regex(/^[0-9a-f]{32}$/),
  status: z.enum(['pending', 'approved', 'denied']),
  requestedBy: z.string(),
  requestedByMailbox: z.string().optional(),
  requestedAt: z.string(),
  note: z.string().optional(),
  decidedBy: z.string().optional(),
  decidedAt: z.string().optional(),
  decisionNote: z.string().optional(),
  error: z.string().optional(),
  etag: z.string().optional(),
});

/** One release request as the API returns it. */
export interface ReleaseRequest {
  id: string;
  quarantineId: string;
  status: ReleaseRequestStatus;
  /** Principal id of the user who asked. */
  requestedBy: string;
  requestedByMailbox?: string;
  requestedAt: string;
  /** The user's note, up to 1,000 characters. */
  note?: string;
  decidedBy?: string;
  decidedAt?: string;
  decisionNote?: string;
  /** Code of the mailbox error of the last failed approval; the request then stays pending. */
  error?: string;
}

/** Reads and writes the release request table. */
export class ReleaseRequestStore {
  constructor(private readonly table: TableClient) {}

  /**
   * Creates a pending request.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async create(input: {
    quarantineId: string;
    requestedBy: string;
    requestedByMailbox?: string;
    note?: string;
    now: Date;
  }): Promise<ReleaseRequest> {
    const inverted = String(LATEST_MS - input.now.getTime()).padStart(13, '0');
    const request: ReleaseRequest = {
      id: `${inverted}${randomBytes(8).toString('hex')}`,
      quarantineId: input.quarantineId,
      status: 'pending',
      requestedBy: input.requestedBy,
      requestedByMailbox: input.requestedByMailbox,
      requestedAt: input.now.toISOString(),
      note: input.note,
    };
    const { id, ...fields } = request;
    await this.run('create', () =>
      this.table.createEntity({ partitionKey: PARTITION, rowKey: id, ...withoutUndefined(fields) }),
    );
    return request;
  }

  /** Returns one request with its etag, or undefined when there is none with this id. */
  async get(id: string): Promise<(ReleaseRequest & { etag: string }) | undefined> {
    try {
      const entity = await this.table.getEntity(PARTITION, id);
      const parsed = rowSchema.safeParse(entity);
      return parsed.success ? { ...toRequest(parsed.data), etag: parsed.data.etag ?? '*' } : undefined;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) {
        return undefined;
      }
      throw toRequestError(error, 'read');
    }
  }

  /** Returns the pending request of an item, if there is one. */
  async findPending(quarantineId: string): Promise<ReleaseRequest | undefined> {
    const filter = odata`PartitionKey eq ${PARTITION} and quarantineId eq ${quarantineId} and status eq ${'pending'}`;
    const page = await this.list(filter, 1);
    return page.requests[0];
  }

  /** Lists requests of one status, newest first, up to `limit`, after the id `after`. */
  async listByStatus(
    status: ReleaseRequestStatus,
    limit: number,
    after?: string,
  ): Promise<{ requests: ReleaseRequest[]; after?: string }> {
    const filter =
      after === undefined
        ? odata`PartitionKey eq ${PARTITION} and status eq ${status}`
        : odata`PartitionKey eq ${PARTITION} and status eq ${status} and RowKey gt ${after}`;
    return this.list(filter, limit);
  }

  /**
   * Records a decision, only if the request is unchanged since it was read (etag), so that two
   * administrators deciding at once cannot both win.
   * @throws ScannerError `blob-conflict` when the request changed meanwhile.
   */
  async decide(
    request: ReleaseRequest & { etag: string },
    decision: { status: ReleaseRequestStatus; decidedBy: string; at: Date; note?: string; error?: string },
  ): Promise<ReleaseRequest> {
    const fields = withoutUndefined({
      status: decision.status,
      decidedBy: decision.decidedBy,
      decidedAt: decision.at.toISOString(),
      decisionNote: decision.note,
      error: decision.error,
    });
    try {
      await this.table.updateEntity({ partitionKey: PARTITION, rowKey: request.id, ...fields }, 'Merge', {
        etag: request.etag,
      });
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 412) {
        throw new ScannerError('blob-conflict', 'The release request changed meanwhile', {
          fields: { requestId: request.id },
        });
      }
      throw toRequestError(error, 'update');
    }
    const { etag: _etag, ...rest } = request;
    return { ...rest, ...fields } as ReleaseRequest;
  }

  private async list(
    filter: string,
    limit: number,
  ): Promise<{ requests: ReleaseRequest[]; after?: string }> {
    const requests: ReleaseRequest[] = [];
    try {
      const pages = this.table.listEntities({ queryOptions: { filter } }).byPage({ maxPageSize: limit });
      for await (const page of pages) {
        for (const entity of page) {
          const parsed = rowSchema.safeParse(entity);
          if (parsed.success) {
            requests.push(toRequest(parsed.data));
          }
          if (requests.length >= limit) {
            return { requests, after: typeof entity.rowKey === 'string' ? entity.rowKey : undefined };
          }
        }
      }
    } catch (error) {
      throw toRequestError(error, 'query');
    }
    return { requests };
  }

  private async run(operation: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      throw toRequestError(error, operation);
    }
  }
}

function toRequest(row: z.infer<typeof rowSchema>): ReleaseRequest {
  const { rowKey, etag: _etag, ...fields } = row;
  return { id: rowKey, ...fields };
}

function withoutUndefined<T extends Record<string, unknown>>(fields: T): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

function toRequestError(error: unknown, operation: string): ScannerError {
  const status = error instanceof RestError ? error.statusCode : undefined;
  return new ScannerError('blob-unavailable', `Release request ${operation} failed`, {
    cause: error,
    fields: status === undefined ? { operation } : { operation, status },
  });
}
