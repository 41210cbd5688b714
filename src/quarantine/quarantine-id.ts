import { createHash } from 'node:crypto';

import { z } from 'zod';

import { ScannerError } from '../shared/errors.js';

/**
 * A quarantine id: exactly 32 lowercase hex characters. Ids become blob names, so anything else
 * (path separators, dots, percent escapes, NUL, upper case) is rejected before it reaches storage.
 */
export const quarantineIdSchema = z.string().regex(/^[0-9a-f]{32}$/);

const QUARANTINE_ID_HEX_LENGTH = 32;

/**
 * Normalizes a mailbox for ids and filters. Exchange treats addresses and UPNs case-insensitively,
 * so `Alice@Contoso.com` and `alice@contoso.com` are one mailbox. No mailbox (a local file) is ''.
 */
export function normalizeMailbox(mailbox: string | undefined): string {
  return (mailbox ?? '').trim().toLowerCase();
}

/**
 * Derives the id of the item holding `sha256Hex` for `mailbox`: the first 32 hex characters of
 * SHA-256(normalized mailbox, NUL, sha256Hex). The NUL keeps mailbox and digest from running
 * together, and 128 bits keep accidental collisions out of reach.
 */
export function toQuarantineId(mailbox: string | undefined, sha256Hex: string): string {
  return createHash('sha256')
    .update(normalizeMailbox(mailbox))
    .update('\0')
    .update(sha256Hex)
    .digest('hex')
    .slice(0, QUARANTINE_ID_HEX_LENGTH);
}

/**
 * Hex SHA-256 of the normalized mailbox, stored in blob metadata so that listing can filter by
 * mailbox without downloading each item's metadata and without storing the address in a header.
 */
export function toMailboxHash(mailbox: string | undefined): string {
  return createHash('sha256').update(normalizeMailbox(mailbox)).digest('hex');
}

/**
 * Validates a quarantine id that came from outside (a command line, a queue message, an HTTP
 * request). An invalid id cannot name any item, so it is reported as not found.
 * @throws ScannerError `quarantine-not-found` when `value` is not 32 lowercase hex characters.
 */
export function parseQuarantineId(value: unknown): string {
  const result = quarantineIdSchema.safeParse(value);
  if (!result.success) {
    throw new ScannerError(
      'quarantine-not-found',
      'Invalid quarantine id: expected 32 lowercase hex characters',
      { fields: { reason: 'invalid-id' } },
    );
  }
  return result.data;
}
