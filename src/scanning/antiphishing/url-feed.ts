import { readFile } from 'node:fs/promises';

import { ScannerError } from '../../shared/errors.js';
import { normalizeHostname } from './hosts.js';

/** Kind of feed entry that listed a URL. */
export type UrlFeedMatch = 'domain' | 'url';

/**
 * A list of known phishing domains and URLs.
 *
 * Matching rules:
 * - A domain entry (`evil.example`, optionally written `*.evil.example`) matches that host and
 *   every subdomain of it, whatever the scheme, port or path.
 * - A URL entry matches after normalization: scheme and host in lower case, default port
 *   dropped, user name and password ignored, trailing slashes of the path ignored, fragment
 *   ignored. The path is compared case-sensitively.
 * - An entry without a query string matches the same path with any query string, because phishing
 *   kits add per-victim tokens. An entry with a query string matches only that exact query.
 */
export interface UrlFeed {
  readonly domainCount: number;
  readonly urlCount: number;
  /** Lines skipped because they were neither a domain nor an absolute http, https or ftp URL. */
  readonly invalidLineCount: number;
  /** Line numbers (1-based) of the first few invalid lines, for a log line. */
  readonly invalidLineNumbers: readonly number[];
  /** The kind of entry that lists `url`, or undefined. */
  match(url: URL): UrlFeedMatch | undefined;
  /** True when a domain entry lists `hostname` or a parent domain of it. */
  matchesHost(hostname: string): boolean;
}

/** How many invalid line numbers a feed keeps for reporting. */
const MAX_REPORTED_INVALID_LINES = 10;

const WEB_PROTOCOLS = new Set(['http:', 'https:', 'ftp:']);
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:/i;
const DOMAIN_NAME = /^[\p{L}\p{N}_-]+(?:\.[\p{L}\p{N}_-]+)*\.?$/u;

/**
 * Reads a feed file: UTF-8 text with one domain or URL per line. Blank lines and lines starting
 * with `#` are ignored. A line that is neither a domain nor an absolute http, https or ftp URL is
 * skipped and counted in `invalidLineCount` (one bad line in a downloaded feed should not disable
 * the rest), and its number is kept in `invalidLineNumbers`. Line content is never reported.
 * @throws ScannerError `config-invalid` when the file cannot be read.
 */
export async function loadUrlFeed(path: string): Promise<UrlFeed> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ScannerError('config-invalid', `URL feed file could not be read: ${path}`, {
      cause: error,
      fields: { path },
    });
  }
  return parseUrlFeed(text);
}

/** Builds a feed from the text of a feed file, with the rules of {@link loadUrlFeed}. */
export function parseUrlFeed(text: string): UrlFeed {
  const domains = new Set<string>();
  const urls = new Map<string, Set<string> | 'any-query'>();
  const invalidLineNumbers: number[] = [];
  let invalidLineCount = 0;

  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index += 1) {
    const line = (lines[index] ?? '').trim();
    if (line === '' || line.startsWith('#')) {
      continue;
    }
    if (!addEntry(line, domains, urls)) {
      invalidLineCount += 1;
      if (invalidLineNumbers.length < MAX_REPORTED_INVALID_LINES) {
        invalidLineNumbers.push(index + 1);
      }
    }
  }

  const matchesHost = (hostname: string): boolean => {
    let host = normalizeHostname(hostname);
    for (;;) {
      if (domains.has(host)) {
        return true;
      }
      const dot = host.indexOf('.');
      if (dot < 0) {
        return false;
      }
      host = host.slice(dot + 1);
    }
  };

  const match = (url: URL): UrlFeedMatch | undefined => {
    if (domains.size > 0 && matchesHost(url.hostname)) {
      return 'domain';
    }
    const queries = urls.size === 0 ? undefined : urls.get(toUrlKey(url));
    if (queries === undefined) {
      return undefined;
    }
    return queries === 'any-query' || queries.has(url.search) ? 'url' : undefined;
  };

  return {
    domainCount: domains.size,
    urlCount: urls.size,
    invalidLineCount,
    invalidLineNumbers,
    match,
    matchesHost,
  };
}

function addEntry(
  line: string,
  domains: Set<string>,
  urls: Map<string, Set<string> | 'any-query'>,
): boolean {
  if (/\s/.test(line)) {
    return false;
  }
  if (!HAS_SCHEME.test(line)) {
    return addDomain(line.startsWith('*.') ? line.slice(2) : line, domains);
  }

  let url: URL;
  try {
    url = new URL(line);
  } catch {
    return false;
  }
  if (!WEB_PROTOCOLS.has(url.protocol) || url.hostname === '') {
    return false;
  }
  const key = toUrlKey(url);
  const queries = urls.get(key);
  if (url.search === '') {
    urls.set(key, 'any-query');
  } else if (queries === undefined) {
    urls.set(key, new Set([url.search]));
  } else if (queries !== 'any-query') {
    queries.add(url.search);
  }
  return true;
}

function addDomain(entry: string, domains: Set<string>): boolean {
  if (!DOMAIN_NAME.test(entry)) {
    return false;
  }
  let hostname: string;
  try {
    hostname = new URL(`http://${entry}/`).hostname;
  } catch {
    return false;
  }
  domains.add(normalizeHostname(hostname));
  return true;
}

/** Scheme, host, non-default port and path without trailing slashes. */
function toUrlKey(url: URL): string {
  let path = url.pathname;
  while (path.endsWith('/')) {
    path = path.slice(0, -1);
  }
  return `${url.protocol}//${normalizeHostname(url.hostname)}${url.port === '' ? '' : `:${url.port}`}${path}`;
}
