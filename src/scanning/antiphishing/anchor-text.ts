import { parse } from 'tldts';

import { type HostFacts, describeHost } from './hosts.js';
import { findTextUrls } from './text-links.js';
import { resolveWebUrl } from './url-extraction.js';

const SCHEME_PREFIX = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A host name with an optional port and path, and nothing else: `contoso.com/login`. */
const HOST_TOKEN = /^[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+\.?(?::\d{1,5})?(?:[/?#]\S*)?$/u;

/** Brackets, quotes and sentence punctuation around a domain written as link text. */
const WRAPPING_PUNCTUATION = /^[<(["']+|[>)\]"'.,;:!?]+$/g;

/**
 * Country-code and generic top-level domains that are also common file extensions, so that link
 * text like `README.md` or `setup.py` is not read as a domain. Text with a scheme or a `www.`
 * prefix is still read as a domain under these.
 */
const FILE_EXTENSION_SUFFIXES = new Set([
  'ai',
  'cc',
  'cs',
  'md',
  'mov',
  'pl',
  'pm',
  'ps',
  'py',
  'rs',
  'sh',
  'so',
  'zip',
]);

const TLDTS_OPTIONS = { allowPrivateDomains: true, extractHostname: false } as const;

/** Maximum query length searched for an embedded redirect target, in UTF-16 code units. */
const MAX_REDIRECT_QUERY_CHARS = 4096;

const EMBEDDED_URL = /https?:\/\/[^\s&"'<>]+/gi;

/** Message and organization facts that the mismatch check uses. */
export interface AnchorMismatchContext {
  /** Registrable domains written in From and Reply-To, display names included. */
  senderDomains: ReadonlySet<string>;
  isOrganizationHost(hostname: string): boolean;
}

/**
 * True when link text shows a host whose registrable domain differs from the target's, so
 * `www.contoso.com` text over `mail.contoso.com` is no mismatch. Two click-tracking patterns of
 * legitimate newsletters are accepted unless the text shows an organization domain: a target on
 * a domain written in From or Reply-To, and a redirect whose query carries a URL on the domain
 * shown.
 * NOTE: a phisher who sends from the target domain, or who adds the shown URL to the query of
 * the target, passes this check. The look-alike and feed checks still apply to such links.
 */
export function isAnchorMismatch(
  anchorText: string,
  target: URL,
  targetHost: HostFacts,
  context: AnchorMismatchContext,
): boolean {
  const displayed = findDisplayedHost(anchorText);
  if (displayed === undefined) {
    return false;
  }
  const displayedDomain = toComparableDomain(describeHost(displayed));
  const targetDomain = toComparableDomain(targetHost);
  if (displayedDomain === targetDomain) {
    return false;
  }
  if (context.isOrganizationHost(displayed)) {
    return true;
  }
  if (context.senderDomains.has(targetDomain)) {
    return false;
  }
  return !redirectsToDomain(target, displayedDomain);
}

/**
 * Returns the host that link text shows to the reader, or undefined when the text does not show
 * one ("Click here", an email address, a file name). Text that is a single token is read as a
 * URL or a domain name. Longer text is searched for a URL with a scheme or a `www.` host.
 */
export function findDisplayedHost(anchorText: string): string | undefined {
  const text = anchorText.trim();
  if (text === '') {
    return undefined;
  }
  if (!/\s/.test(text)) {
    return hostOfToken(text.replace(WRAPPING_PUNCTUATION, ''));
  }

  let displayed: string | undefined;
  findTextUrls(text, (value) => {
    displayed = resolveWebUrl(value, undefined)?.hostname;
    return displayed === undefined;
  });
  return displayed === undefined ? undefined : describeHost(displayed).hostname;
}

function hostOfToken(token: string): string | undefined {
  if (SCHEME_PREFIX.test(token)) {
    const url = resolveWebUrl(token, undefined);
    return url === undefined ? undefined : describeHost(url.hostname).hostname;
  }
  if (!HOST_TOKEN.test(token)) {
    return undefined;
  }
  const url = resolveWebUrl(`http://${token}`, undefined);
  if (url === undefined) {
    return undefined;
  }
  const host = describeHost(url.hostname);
  if (host.isIpLiteral || host.hostname.startsWith('www.')) {
    return host.hostname;
  }
  // Require a listed public suffix, so `notes.txt` or `v1.2.3` is not read as a domain.
  const parsed = parse(host.hostname, TLDTS_OPTIONS);
  const suffix = parsed.publicSuffix ?? '';
  const listed = parsed.isIcann === true || parsed.isPrivate === true;
  return listed && !FILE_EXTENSION_SUFFIXES.has(suffix) ? host.hostname : undefined;
}

/** Returns the registrable domain, or the whole host for IP literals and bare suffixes. */
function toComparableDomain(host: HostFacts): string {
  return host.registrableDomain ?? host.hostname;
}

/** True when the query of `url` carries an http or https URL on `domain`. */
function redirectsToDomain(url: URL, domain: string): boolean {
  const query = decodeQuery(url.search.slice(0, MAX_REDIRECT_QUERY_CHARS));
  for (const match of query.matchAll(EMBEDDED_URL)) {
    const embedded = resolveWebUrl(match[0], undefined);
    if (embedded !== undefined && toComparableDomain(describeHost(embedded.hostname)) === domain) {
      return true;
    }
  }
  return false;
}

function decodeQuery(query: string): string {
  try {
    return decodeURIComponent(query.replace(/\+/g, ' '));
  } catch {
    return query;
  }
}
