import ipaddr from 'ipaddr.js';

/** Maximum size of a list file, in bytes. */
export const MAX_LIST_FILE_BYTES = 10 * 1024 * 1024;

/** Maximum entries in one list. */
export const MAX_LIST_ENTRIES = 100_000;

/** Reads a list file named in a rule set; rejects when it is missing or unreadable. */
export type ListFileReader = (file: string) => Promise<string>;

/** A list ready for look-ups: exact values, domains (matching subdomains too) and IP ranges. */
export interface CompiledList {
  values: ReadonlySet<string>;
  ranges: readonly [ipaddr.IPv4 | ipaddr.IPv6, number][];
}

const ADDRESS = /^[^\s@]+@[a-z0-9-]+(\.[a-z0-9-]+)+$/;
const DOMAIN = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/;

/** Builds a list from inline values; any text is allowed, compared case-insensitively. */
export function compileInlineList(values: readonly string[]): CompiledList {
  const ranges: CompiledList['ranges'][number][] = [];
  for (const value of values) {
    if (value.includes('/') && ipaddr.isValidCIDR(value)) {
      ranges.push(ipaddr.parseCIDR(value));
    }
  }
  return { values: new Set(values.map((value) => value.toLowerCase())), ranges };
}

/**
 * Parses a list file: one address, domain, IP address or CIDR range per line. Blank lines and
 * lines starting with `#` are skipped.
 * @returns the list, or the reason the file is malformed (the first bad line's number).
 */
export function parseListFile(text: string): CompiledList | { error: string } {
  if (text.length > MAX_LIST_FILE_BYTES) {
    return { error: `is larger than ${MAX_LIST_FILE_BYTES} bytes` };
  }
  const entries: string[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    const entry = line.trim().toLowerCase();
    if (entry === '' || entry.startsWith('#')) {
      continue;
    }
    if (
      !ADDRESS.test(entry) &&
      !DOMAIN.test(entry) &&
      !ipaddr.isValid(entry) &&
      !ipaddr.isValidCIDR(entry)
    ) {
      return { error: `line ${index + 1} is not an address, domain, IP address or CIDR range` };
    }
    entries.push(entry);
    if (entries.length > MAX_LIST_ENTRIES) {
      return { error: `has more than ${MAX_LIST_ENTRIES} entries` };
    }
  }
  return compileInlineList(entries);
}

/**
 * Tests one lower-case value against a list: an exact entry, the domain of an address or any
 * parent domain (`mail.contoso.com` is in a list holding `contoso.com`), or an IP range.
 */
export function isInList(list: CompiledList, value: string): boolean {
  if (list.values.has(value)) {
    return true;
  }
  const at = value.lastIndexOf('@');
  let domain = at >= 0 ? value.slice(at + 1) : value;
  if (DOMAIN.test(domain)) {
    for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.')) {
      if (list.values.has(domain)) {
        return true;
      }
      domain = domain.slice(dot + 1);
    }
  }
  return list.ranges.length > 0 && isInRanges(list.ranges, value);
}

/** Tests an IP address written as text against CIDR ranges; false for anything else. */
export function isInRanges(ranges: CompiledList['ranges'], value: string): boolean {
  if (!ipaddr.isValid(value)) {
    return false;
  }
  const address = ipaddr.process(value);
  return ranges.some(
    ([network, bits]) => address.kind() === network.kind() && address.match(network, bits),
  );
}
