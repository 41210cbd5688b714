import { createHash } from 'node:crypto';

import { RestError, type TableClient } from '@azure/data-tables';

import { ScannerError } from '../shared/errors.js';
import { normalizeMailbox } from './quarantine-id.js';

/**
 * Memory of what the scan consumer must not quarantine again: messages an administrator or user released,
 * remembered by internet message id and SHA-256 of the exact bytes, and senders an administrator
 * allowed when releasing. Both live in one table, in partitions `r-<hash of the internet message
 * id>` (row key: the content SHA-256) and `s-<hash of the sender address>` (row key `allowed`).
 * Keys hold hashes only, because ids and addresses may contain characters keys forbid.
 */

const ALLOWED_ROW = 'allowed';

/** Reads and writes the released-message and allowed-sender rows. */
export class ReleasedMessages {
  constructor(private readonly table: TableClient) {}

  /**
   * Remembers a released message. Upserting makes a repeated release harmless.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async remember(internetMessageId: string | undefined, sha256: string, at: Date): Promise<void> {
    await this.write(() =>
      this.table.upsertEntity(
        { partitionKey: releasedPartition(internetMessageId), rowKey: sha256, releasedAt: at.toISOString() },
        'Replace',
      ),
    );
  }

  /** True when exactly this message (same internet message id and bytes) was released. */
  async isReleased(internetMessageId: string | undefined, sha256: string): Promise<boolean> {
    return this.exists(releasedPartition(internetMessageId), sha256);
  }

  /**
   * Allows a sender: spam from this address is no longer quarantined. Malware and phishing are.
   * @throws ScannerError `blob-unavailable` when Table storage fails.
   */
  async allowSender(sender: string, allowedBy: string, at: Date): Promise<void> {
    await this.write(() =>
      this.table.upsertEntity(
        { partitionKey: senderPartition(sender), rowKey: ALLOWED_ROW, allowedBy, allowedAt: at.toISOString() },
        'Replace',
      ),
    );
  }

  /** True when an administrator allowed this sender. */
  async isSenderAllowed(sender: string | undefined): Promise<boolean> {
    if (sender === undefined || normalizeMailbox(sender) === '') {
      return false;
    }
    return this.exists(senderPartition(sender), ALLOWED_ROW);
  }

  private async exists(partitionKey: string, rowKey: string): Promise<boolean> {
    try {
      await this.table.getEntity(partitionKey, rowKey);
      return true;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) {
        return false;
      }
      throw new ScannerError('blob-unavailable', 'Released-message lookup failed', { cause: error });
    }
  }

  private async write(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      throw new ScannerError('blob-unavailable', 'Released-message write failed', { cause: error });
    }
  }
}

function releasedPartition(internetMessageId: string | undefined): string {
  // A message without an internet message id is remembered by its bytes alone.
  const id = internetMessageId?.trim() ?? '';
  return `r-${createHash('sha256').update(id, 'utf8').digest('hex')}`;
}

function senderPartition(sender: string): string {
  return `s-${createHash('sha256').update(normalizeMailbox(sender), 'utf8').digest('hex')}`;
}
