import { randomUUID } from 'node:crypto';

import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';

import { isConcurrencyConflict, statusOf, toRowKey } from './table-errors.js';

const LEASE_PARTITION = 'lease';

const leaseRowSchema = z.object({ holder: z.string(), expiresAt: z.string() });

/** A held lease. */
export interface Lease {
  /** Extends the lease when half of it has passed; false when another holder has taken it. */
  keep(): Promise<boolean>;
  /** Ends the lease early, if it is still held. */
  release(): Promise<void>;
}

/**
 * A named lease in a table row, so that only one instance runs a job at a time (two timer runs,
 * or a timer run and an API call). Every write is ETag-checked: of two instances that read the
 * same row, only the first write succeeds. An expired lease can be taken over.
 */
export class TableLease {
  private readonly holder = randomUUID();

  constructor(
    private readonly table: TableClient,
    private readonly name: string,
    /** Lease duration, in milliseconds. */
    private readonly durationMs: number,
  ) {}

  /** Takes the lease if it is free or expired; returns undefined when another holder has it. */
  async tryAcquire(): Promise<Lease | undefined> {
    const rowKey = toRowKey(this.name);
    const current = await this.read(rowKey);
    const now = Date.now();
    const entity = {
      partitionKey: LEASE_PARTITION,
      rowKey,
      holder: this.holder,
      expiresAt: new Date(now + this.durationMs).toISOString(),
    };
    try {
      if (current === undefined) {
        await this.table.createEntity(entity);
      } else if (Date.parse(current.expiresAt) <= now || current.holder === this.holder) {
        await this.table.updateEntity(entity, 'Replace', { etag: current.etag });
      } else {
        return undefined;
      }
    } catch (error) {
      if (isConcurrencyConflict(error)) {
        return undefined;
      }
      throw error;
    }
    return this.heldLease(rowKey, now);
  }

  private heldLease(rowKey: string, acquiredAt: number): Lease {
    let renewedAt = acquiredAt;
    return {
      keep: async () => {
        const now = Date.now();
        if (now - renewedAt < this.durationMs / 2) {
          return true;
        }
        const current = await this.read(rowKey);
        if (current === undefined || current.holder !== this.holder) {
          return false;
        }
        try {
          await this.table.updateEntity(
            {
              partitionKey: LEASE_PARTITION,
              rowKey,
              holder: this.holder,
              expiresAt: new Date(now + this.durationMs).toISOString(),
            },
            'Replace',
            { etag: current.etag },
          );
        } catch (error) {
          if (isConcurrencyConflict(error)) {
            return false;
          }
          throw error;
        }
        renewedAt = now;
        return true;
      },
      release: async () => {
        const current = await this.read(rowKey);
        if (current?.holder !== this.holder) {
          return;
        }
        try {
          await this.table.deleteEntity(LEASE_PARTITION, rowKey, { etag: current.etag });
        } catch (error) {
          if (!isConcurrencyConflict(error) && statusOf(error) !== 404) {
            throw error;
          }
        }
      },
    };
  }

  private async read(
    rowKey: string,
  ): Promise<{ holder: string; expiresAt: string; etag: string } | undefined> {
    try {
      const entity = await this.table.getEntity(LEASE_PARTITION, rowKey);
      const parsed = leaseRowSchema.safeParse(entity);
      // A row that does not parse counts as expired, so that it cannot block every run; its real
      // ETag keeps the takeover conditional.
      const lease = parsed.success
        ? parsed.data
        : { holder: '', expiresAt: '1970-01-01T00:00:00Z' };
      return { ...lease, etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) {
        return undefined;
      }
      throw error;
    }
  }
}
