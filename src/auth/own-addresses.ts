import { z } from 'zod';

import { ScannerError } from '../shared/errors.js';
import type { Principal } from './principal.js';
import { MAX_USER_ADDRESSES, type UserAddressDirectory } from './user-addresses.js';

/** Structured log sink of the request, as the HTTP handlers receive it. */
export type RequestLog = (
  level: 'debug' | 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

const objectIdSchema = z.uuid();

/**
 * Fills in `addresses` for a caller: the addresses whose quarantined mail they see and own.
 *
 * - Administrators get none, because they see and act on everything anyway.
 * - A principal whose addresses are already set (the local development user, from settings) is
 *   returned unchanged.
 * - Otherwise the directory is asked by the object id claim, never by an address the caller
 *   sends, so that a caller cannot borrow another user's aliases. The address claim counts only
 *   when the directory confirms it: it is one of the user's SMTP addresses or their UPN.
 * - Without a directory (Graph not configured), or when the lookup fails (directory unavailable,
 *   throttled, user not found, object id not a GUID), the caller keeps only the address claim.
 *   That is what the signed-in token itself states, so a failure never widens access. The
 *   warning names no address.
 *
 * At most {@link MAX_USER_ADDRESSES} addresses are kept, primary first; a longer list is logged.
 */
export async function withOwnAddresses(
  principal: Principal,
  directory: UserAddressDirectory | undefined,
  log: RequestLog,
): Promise<Principal> {
  if (principal.isAdmin || principal.addresses !== undefined) {
    return principal;
  }
  const claim = normalizeAddress(principal.mailbox);
  const claimOnly = { ...principal, addresses: claim === '' ? [] : [claim] };
  if (directory === undefined) {
    return claimOnly;
  }
  if (!objectIdSchema.safeParse(principal.id).success) {
    log('warn', 'User address lookup skipped: the object id claim is not a GUID', {
      reason: 'invalid-object-id',
    });
    return claimOnly;
  }

  let addresses: string[];
  try {
    const user = await directory.addressesOf(principal.id);
    addresses = [...user.addresses];
    if (claim !== '' && claim === user.userPrincipalName && !addresses.includes(claim)) {
      addresses.push(claim);
    }
  } catch (error) {
    const fields = error instanceof ScannerError ? { code: error.code, ...error.fields } : {};
    log('warn', 'User address lookup failed; only the signed-in address is used', {
      ...fields,
      objectId: principal.id,
    });
    return claimOnly;
  }
  if (addresses.length > MAX_USER_ADDRESSES) {
    log('warn', 'User has more addresses than the quarantine API reads; the rest are ignored', {
      objectId: principal.id,
      addressCount: addresses.length,
      maxAddresses: MAX_USER_ADDRESSES,
    });
    addresses = addresses.slice(0, MAX_USER_ADDRESSES);
  }
  return { ...principal, addresses };
}

/**
 * Returns the caller's own addresses, lower-cased and unique, primary first: `addresses` when
 * {@link withOwnAddresses} or the local settings set them, else the address claim alone.
 */
export function ownAddresses(principal: Principal): string[] {
  const source = principal.addresses ?? [principal.mailbox];
  const addresses = source.map(normalizeAddress).filter((address) => address !== '');
  return [...new Set(addresses)].slice(0, MAX_USER_ADDRESSES);
}

function normalizeAddress(address: string | undefined): string {
  return (address ?? '').trim().toLowerCase();
}
