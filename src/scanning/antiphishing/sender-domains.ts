import { domainToASCII } from 'node:url';

import type { HeaderField } from '../types.js';
import { normalizeHostname } from './hosts.js';

/** Header fields whose address domains are compared with the organization's domains. */
export type SenderHeader = 'from' | 'reply-to';


/** Most domains read from one header field, so a crafted header costs bounded work. */
const MAX_DOMAINS_PER_HEADER = 20;

/** The domain after an `@`, stopping at characters that cannot be part of one. */
const ADDRESS_DOMAIN = /@([^\s<>()"',;:[\]@\\]+)/g;

/**
 * Domains converted by {@link toAsciiDomain} are kept up to this many, then the cache restarts.
 * The same sender domains recur across a mailbox.
 */
const MAX_CACHED_DOMAINS = 4096;

/** Longest domain that is cached, so the cache holds at most about 1 MB of keys. */
const MAX_CACHED_DOMAIN_CHARS = 255;

const asciiDomains = new Map<string, string | undefined>();

/** The last angle-bracketed address of a header value: `Name <user@contoso.com>`. */
const ANGLE_ADDRESS = /<([^<>]*)>[^<>]*$/;

/** One domain written in a sender header field. */
export interface SenderDomain {
  header: SenderHeader;
  /** Lower-case ASCII domain, IDNs in punycode. */
  hostname: string;
}

/**
 * Returns the distinct domains written after an `@` in the From and Reply-To fields, display
 * names included, because a display name like `it@contoso.com <x@evil.example>` is what the
 * reader sees.
 */
export function findSenderDomains(headers: readonly HeaderField[]): SenderDomain[] {
  const found: SenderDomain[] = [];
  const seen = new Set<string>();
  for (const field of headers) {
    const header = toSenderHeader(field.key);
    if (header === undefined) {
      continue;
    }
    let count = 0;
    for (const match of field.value.matchAll(ADDRESS_DOMAIN)) {
      const hostname = toAsciiDomain(match[1] ?? '');
      if (hostname !== undefined && !seen.has(`${header} ${hostname}`)) {
        seen.add(`${header} ${hostname}`);
        found.push({ header, hostname });
      }
      count += 1;
      if (count >= MAX_DOMAINS_PER_HEADER) {
        break;
      }
    }
  }
  return found;
}

/** Returns the domain of the address in the first From field, or undefined when it has none. */
export function findFromDomain(headers: readonly HeaderField[]): string | undefined {
  const from = headers.find((field) => field.key === 'from');
  if (from === undefined) {
    return undefined;
  }
  const address = ANGLE_ADDRESS.exec(from.value)?.[1] ?? from.value;
  const at = address.lastIndexOf('@');
  if (at < 0) {
    return undefined;
  }
  const domain = /^[^\s<>()"',;:[\]@\\]+/.exec(address.slice(at + 1))?.[0];
  return domain === undefined ? undefined : toAsciiDomain(domain);
}

function toSenderHeader(key: string): SenderHeader | undefined {
  if (key === 'from' || key === 'reply-to') {
    return key;
  }
  return undefined;
}

function toAsciiDomain(domain: string): string | undefined {
  if (asciiDomains.has(domain)) {
    return asciiDomains.get(domain);
  }
  const ascii = domainToASCII(domain);
  const hostname = ascii === '' ? undefined : normalizeHostname(ascii);
  if (domain.length <= MAX_CACHED_DOMAIN_CHARS) {
    if (asciiDomains.size >= MAX_CACHED_DOMAINS) {
      asciiDomains.clear();
    }
    asciiDomains.set(domain, hostname);
  }
  return hostname;
}
