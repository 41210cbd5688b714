import { createHash } from 'node:crypto';

import { RestError } from '@azure/data-tables';

import { normalizeMailbox } from '../quarantine/quarantine-id.js';
import { ScannerError } from '../shared/errors.js';

/**
 * Keys of mailsweep's Table storage rows. Addresses, internet message ids and item ids may hold
 * `/`, `#` and `?`, which Table storage forbids in keys, so keys are SHA-256 digests of them.
 */

function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Partition key of one mailbox's rows: the hex SHA-256 of the lower-cased address. */
export function toMailboxKey(mailbox: string): string {
  return sha256Hex(normalizeMailbox(mailbox));
}

/**
 * Row key of a message's lock: `i` and the digest of its internet message id, or `s` and the
 * SHA-256 of its MIME when the store reports no internet message id.
 */
export function toLockKey(identity: { internetMessageId: string } | { sha256: string }): string {
  return 'internetMessageId' in identity
    ? `i${sha256Hex(identity.internetMessageId)}`
    : `s${identity.sha256}`;
}

/** Row key of the row that maps a store item id to its lock. */
export function toItemKey(messageId: string): string {
  return `t${sha256Hex(messageId)}`;
}

/** Returns the HTTP status of a Table storage error, or undefined for other errors. */
export function tableStatus(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : undefined;
}

/** Wraps a Table storage failure as a transient ScannerError, so that the job is retried. */
export function toTableError(error: unknown, operation: string): ScannerError {
  const status = tableStatus(error);
  return new ScannerError('blob-unavailable', `Table storage ${operation} failed`, {
    cause: error,
    fields: status === undefined ? { operation } : { operation, status },
  });
}
