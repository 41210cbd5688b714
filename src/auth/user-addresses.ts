import { z } from 'zod';

/**
 * The mail addresses of a signed-in user: the primary SMTP address and its aliases, read from the
 * directory by the user's object id. A caller without a role may read the quarantined mail of every
 * one of these addresses.
 */

/**
 * Maximum addresses of one user for the quarantine API. Each address is one index partition that
 * a listing reads, so the bound caps the partitions of one request. A longer list is cut and
 * logged.
 */
export const MAX_USER_ADDRESSES = 50;

/** One user's entry in the directory. */
export interface DirectoryUser {
  /** SMTP addresses, lower-cased and unique, primary first. Empty for a user without mail. */
  addresses: string[];
  /** The user principal name, lower-cased; it is a sign-in name, not always an address. */
  userPrincipalName?: string;
}

/**
 * Reads a user's addresses by Entra object id. Implementations throw a ScannerError when the
 * lookup fails (directory unavailable, throttled, user not found).
 */
export interface UserAddressDirectory {
  addressesOf(objectId: string): Promise<DirectoryUser>;
}

// The same shape the quarantine API accepts for an address filter.
const smtpAddressSchema = z
  .string()
  .max(320)
  .regex(/^[^\s@<>()\u0000-\u001f\u007f]{1,64}@[A-Za-z0-9.-]{1,255}$/);

/**
 * Builds a user's SMTP addresses from Graph's `mail` and `proxyAddresses`. Only `smtp:` entries
 * count (the prefix in any case); `x500:`, `sip:`, `eum:` and other types are not mail addresses.
 * By Exchange's convention the `SMTP:` entry in upper case is the primary reply address, so it goes
 * first, then `mail`, then the aliases in the order Graph lists them. Values that are not plain
 * addresses are dropped.
 * @see https://learn.microsoft.com/graph/api/resources/user#properties
 */
export function toSmtpAddresses(
  mail: string | null | undefined,
  proxyAddresses: readonly string[] | null | undefined,
): string[] {
  const primary: string[] = [];
  const aliases: string[] = [];
  for (const entry of proxyAddresses ?? []) {
    const match = /^smtp:(.*)$/i.exec(entry.trim());
    if (match === null) {
      continue;
    }
    (entry.trim().startsWith('SMTP:') ? primary : aliases).push(match[1]!);
  }
  const ordered = [...primary, ...(mail === null || mail === undefined ? [] : [mail]), ...aliases];
  const addresses = ordered
    .map((address) => address.trim().toLowerCase())
    .filter((address) => smtpAddressSchema.safeParse(address).success);
  return [...new Set(addresses)];
}

/** Options of {@link CachedUserAddressDirectory}. */
export interface CachedUserAddressDirectoryOptions {
  /** Minutes a successful lookup is reused. */
  ttlMinutes: number;
  /**
   * Milliseconds a failed lookup is remembered, so that requests during a directory outage do
   * not each wait for Graph's retries. Default 60,000, and at most the success lifetime.
   */
  failureTtlMs?: number;
  /** Maximum users kept; the oldest entry is dropped first. Default 10,000. */
  maxEntries?: number;
  /** Clock; default Date.now. */
  now?: () => number;
}

interface CacheEntry {
  expiresAt: number;
  result: Promise<DirectoryUser>;
}

/**
 * Caches a directory's results per object id. Concurrent requests for one user share one lookup.
 * A changed alias list is seen once the entry expires, so an alias removed in the directory keeps
 * showing its mail for up to `ttlMinutes`. A failure is cached for `failureTtlMs` and then asked
 * again.
 */
export class CachedUserAddressDirectory implements UserAddressDirectory {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly ttlMs: number;
  private readonly failureTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly directory: UserAddressDirectory,
    options: CachedUserAddressDirectoryOptions,
  ) {
    this.ttlMs = options.ttlMinutes * 60_000;
    this.failureTtlMs = Math.min(options.failureTtlMs ?? 60_000, this.ttlMs);
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  addressesOf(objectId: string): Promise<DirectoryUser> {
    const key = objectId.toLowerCase();
    const cached = this.entries.get(key);
    if (cached !== undefined && cached.expiresAt > this.now()) {
      return cached.result;
    }
    this.entries.delete(key);
    const entry: CacheEntry = {
      expiresAt: this.now() + this.ttlMs,
      result: this.directory.addressesOf(objectId),
    };
    entry.result.catch(() => {
      // Keep the failure only briefly, unless a newer lookup replaced the entry meanwhile.
      if (this.entries.get(key) === entry) {
        entry.expiresAt = Math.min(entry.expiresAt, this.now() + this.failureTtlMs);
      }
    });
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) {
      // Maps iterate in insertion order, so the first key is the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) {
        this.entries.delete(oldest);
      }
    }
    return entry.result;
  }
}
