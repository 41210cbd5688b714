import { z } from 'zod';

import { ownAddresses } from '../auth/own-addresses.js';
import type { Principal } from '../auth/principal.js';
import { canReadEverything } from '../auth/require-user.js';
import { fromBoundSchema, toBoundSchema } from '../shared/time-bounds.js';
import {
  ALL_PARTITION,
  addressPartition,
  toAddressHash,
  type IndexQuery,
} from './quarantine-index.js';
import { normalizeMailbox } from './quarantine-id.js';
import type { QuarantineMetadata } from './quarantine-types.js';

/**
 * Who may see and change which quarantined item. Administrators and readers see every item. A
 * caller without a role sees an item when its mailbox or one of its recipients is one of the
 * caller's own addresses (primary and aliases, see src/auth/own-addresses.ts), and deletes only
 * items whose mailbox is one of them. The list query is confined to the caller's partitions of
 * the index, one per own address, so the rule holds in storage and not only in a client.
 */

/** Largest page of the list endpoint. */
export const MAX_LIST_PAGE_SIZE = 500;

/**
 * Maximum index rows one list request reads, whatever its filters. The `signature` and `q`
 * filters are checked per row, so a rare match returns a short page and a continuation rather
 * than one slow request. Reading 1,000 rows took 0.2 to 0.9 s in Azurite (docs/benchmarks.md).
 */
export const MAX_SCANNED_ROWS = 1000;

// An SMTP address: no spaces, controls or angle brackets, one @, at most 320 characters.
const address = z
  .string()
  .max(320)
  .regex(/^[^\s@<>()\u0000-\u001f\u007f]{1,64}@[A-Za-z0-9.-]{1,255}$/, 'must be an email address')
  .transform((value) => value.toLowerCase());

const rowKeyToken = z.strictObject({ r: z.string().regex(/^[0-9]{13}-[0-9a-f]{32}$/) });

/** Query parameters of `GET /api/quarantine/items`. */
export const listQuerySchema = z.strictObject({
  mailbox: address.optional(),
  recipient: address.optional(),
  sender: address.optional(),
  category: z.enum(['clean', 'spam', 'phishing', 'malware', 'policy', 'unscannable']).optional(),
  signature: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9._:+-]+$/, 'must be a finding signature such as Eicar-Test-Signature')
    .optional(),
  q: z.string().trim().min(1).max(200).optional(),
  from: fromBoundSchema.optional(),
  to: toBoundSchema.optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,4}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_LIST_PAGE_SIZE))
    .default(100),
  continuation: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a token from a previous page')
    .optional(),
});

export type ListQuery = z.infer<typeof listQuerySchema>;

/** The filters of a list query without paging, as a bulk request's `filter` takes them. */
export const listFilterSchema = listQuerySchema.omit({ limit: true, continuation: true });

/** True when the caller may see the item's metadata, preview and message. */
export function mayRead(principal: Principal, metadata: QuarantineMetadata): boolean {
  if (canReadEverything(principal)) {
    return true;
  }
  const own = new Set(ownAddresses(principal));
  return (
    own.has(normalizeMailbox(metadata.mailbox)) ||
    metadata.recipients.some((recipient) => own.has(normalizeMailbox(recipient)))
  );
}

/** True when the caller may delete the item: an administrator, or the owner of its mailbox. */
export function mayDelete(principal: Principal, metadata: QuarantineMetadata): boolean {
  if (principal.isAdmin) {
    return true;
  }
  return ownAddresses(principal).includes(normalizeMailbox(metadata.mailbox));
}

/**
 * Turns a validated list query into an index query within what the caller may see, or returns
 * `empty` when the filters exclude everything the caller may see, or `invalid` with a reason.
 */
export function planListQuery(
  principal: Principal,
  query: ListQuery,
): IndexQuery | 'empty' | { invalid: string } {
  const from = query.from === undefined ? undefined : new Date(query.from);
  const to = query.to === undefined ? undefined : new Date(query.to);
  if (from !== undefined && to !== undefined && from.getTime() > to.getTime()) {
    return { invalid: 'from: is later than to' };
  }
  let after: string | undefined;
  if (query.continuation !== undefined) {
    after = decodeContinuation(query.continuation);
    if (after === undefined) {
      return { invalid: 'continuation: must be a token from a previous page' };
    }
  }

  let partitionKeys: string[];
  if (canReadEverything(principal)) {
    const scopeAddress = query.recipient ?? query.mailbox;
    partitionKeys = [scopeAddress === undefined ? ALL_PARTITION : addressPartition(scopeAddress)];
  } else {
    // A recipient filter may name one of the caller's own addresses and nothing else.
    const own = ownAddresses(principal);
    const scope =
      query.recipient === undefined
        ? own
        : own.filter((address) => address === query.recipient);
    if (scope.length === 0) {
      return 'empty';
    }
    partitionKeys = scope.map(addressPartition);
  }
  return {
    partitionKeys,
    mailboxHash: query.mailbox === undefined ? undefined : toAddressHash(query.mailbox),
    category: query.category,
    sender: query.sender,
    signature: query.signature,
    subjectText: query.q,
    from,
    to,
    after,
    limit: query.limit,
    maxScannedRows: MAX_SCANNED_ROWS,
  };
}

/** Encodes the row key where the next page starts. */
export function encodeContinuation(rowKey: string): string {
  return Buffer.from(JSON.stringify({ r: rowKey }), 'utf8').toString('base64url');
}

/**
 * Decodes a continuation token. The token holds only a position: the partition always comes from
 * the caller and the filters, so a forged token cannot widen what the caller sees.
 */
function decodeContinuation(token: string): string | undefined {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    const parsed = rowKeyToken.safeParse(decoded);
    return parsed.success ? parsed.data.r : undefined;
  } catch {
    return undefined;
  }
}
