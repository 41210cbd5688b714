import { analyzeHtmlBody } from '../html-body-analysis.js';
import type { Deadline, MessageView, TextBody } from '../types.js';
import type { ExtractedUrl, UrlSource } from './extracted-url.js';
import { normalizeHostname } from './hosts.js';
import { type HtmlLink, type PasswordForm, scanHtml } from './html-links.js';
import { findTextUrls } from './text-links.js';

/**
 * Most distinct URL candidates examined in one message. A message with more is cut off here, so
 * padding with thousands of harmless links costs bounded time; the engine reports the cut-off.
 * A legitimate weblog digest in the SpamAssassin ham corpus has 3,126 distinct URLs.
 */
export const MAX_URLS_PER_MESSAGE = 5000;

/** Plain text is searched in slices of about this many UTF-16 code units, split at line breaks. */
const TEXT_SLICE_CHARS = 64 * 1024;

/**
 * Text that every HTML element the scan reads contains: the attribute names `href`, `src`,
 * `action` and `http-equiv`, and the `form` and `base` start tags. HTML without any of them
 * yields no link and no password form, so it is not parsed.
 */
const HTML_LINK_MARKER = /href|src|action|http-equiv|<form|<base/i;

/** Schemes that have a host a phishing page could live on. */
const WEB_PROTOCOLS = new Set(['http:', 'https:', 'ftp:']);

/**
 * Relative URLs are resolved against this when the HTML has no `base`. `.invalid` is reserved
 * (RFC 2606), so a result on this host can only be a relative URL, which is then dropped.
 */
const RELATIVE_PLACEHOLDER_HOST = 'relative.invalid';
const RELATIVE_PLACEHOLDER_BASE = `http://${RELATIVE_PLACEHOLDER_HOST}/`;

/** An extracted URL together with its parsed form, for the engine. */
export interface ParsedExtractedUrl extends ExtractedUrl {
  url: URL;
}

/** A form with a password field, with its action resolved where possible. */
export interface ExtractedPasswordForm {
  mimePath: string;
  /** True when the form has a non-empty `action` attribute. */
  hasAction: boolean;
  /** The resolved `http:`, `https:` or `ftp:` action, or undefined for any other action. */
  action: URL | undefined;
}

/** Everything the antiphishing checks read from one message's bodies and subject. */
export interface LinkCollection {
  urls: ParsedExtractedUrl[];
  passwordForms: ExtractedPasswordForm[];
  /** Bodies of which only the first `maxHtmlBytes` were searched. */
  truncatedBodies: { mimePath: string; type: TextBody['type'] }[];
  /** True when {@link MAX_URLS_PER_MESSAGE} stopped the search. */
  urlLimitReached: boolean;
  /** True when the deadline stopped the search. */
  timedOut: boolean;
}

const NEVER_EXPIRES: Deadline = { expiresAt: Number.POSITIVE_INFINITY, expired: () => false };

/**
 * Returns the http, https and ftp URLs written in a message's subject and in its text and HTML
 * bodies, nested messages included. Each distinct URL is listed once (at its first occurrence),
 * except that an anchor with different visible text is listed again. Relative links are resolved
 * against the HTML `base` and dropped when there is none. Only the first `maxHtmlBytes` UTF-8
 * bytes of each body are searched, and at most {@link MAX_URLS_PER_MESSAGE} candidates.
 */
export function extractUrls(view: MessageView, maxHtmlBytes: number): ExtractedUrl[] {
  return collectLinks(view, maxHtmlBytes, NEVER_EXPIRES).urls.map((item) => {
    const extracted: ExtractedUrl = {
      href: item.href,
      hostname: item.hostname,
      source: item.source,
      mimePath: item.mimePath,
    };
    if (item.anchorText !== undefined) {
      extracted.anchorText = item.anchorText;
    }
    return extracted;
  });
}

/**
 * Collects URLs and password forms for the engine, stopping at the URL limit or the deadline.
 * Never throws on hostile content.
 */
export function collectLinks(
  view: MessageView,
  maxHtmlBytes: number,
  deadline: Deadline,
): LinkCollection {
  const collector = new LinkCollector();
  collector.addText(view.subject, 'subject', '');
  for (const body of view.bodies) {
    if (collector.result.urlLimitReached || collector.result.timedOut) {
      break;
    }
    if (deadline.expired()) {
      collector.result.timedOut = true;
      break;
    }
    collector.addBody(body, maxHtmlBytes, deadline);
  }
  return collector.result;
}

class LinkCollector {
  readonly result: LinkCollection = {
    urls: [],
    passwordForms: [],
    truncatedBodies: [],
    urlLimitReached: false,
    timedOut: false,
  };
  private readonly seenCandidates = new Set<string>();
  private readonly seenUrls = new Set<string>();

  addBody(body: TextBody, maxHtmlBytes: number, deadline: Deadline): void {
    const { text, truncated } = truncateToUtf8Bytes(body.text, maxHtmlBytes);
    if (truncated) {
      this.result.truncatedBodies.push({ mimePath: body.path, type: body.type });
    }
    if (body.type === 'html' && text.includes('<')) {
      if (HTML_LINK_MARKER.test(text)) {
        this.addHtml(text, body, deadline);
      }
      return;
    }
    for (const slice of sliceAtLineBreaks(text, TEXT_SLICE_CHARS)) {
      if (deadline.expired()) {
        this.result.timedOut = true;
        return;
      }
      if (!this.addText(slice, 'text', body.path)) {
        return;
      }
    }
  }

  /** Returns false once the URL limit is reached. */
  addText(text: string, source: UrlSource, mimePath: string): boolean {
    return findTextUrls(text, (value) => this.addCandidate(value, undefined, source, mimePath));
  }

  private addHtml(html: string, body: TextBody, deadline: Deadline): void {
    const mimePath = body.path;
    const end = scanHtml(
      html,
      {
        onLink: (link: HtmlLink) =>
          this.addCandidate(link.value, link.base, link.source, mimePath, link.anchorText),
        onPasswordForm: (form: PasswordForm) => this.addPasswordForm(form, mimePath),
      },
      deadline,
      analyzeHtmlBody(body, html)?.links,
    );
    if (end === 'timed-out') {
      this.result.timedOut = true;
    }
  }

  /** Returns false once the URL limit is reached, which stops the current search. */
  private addCandidate(
    value: string,
    base: string | undefined,
    source: UrlSource,
    mimePath: string,
    anchorText?: string,
  ): boolean {
    const candidateKey = `${value}\u0000${base ?? ''}\u0000${anchorText ?? ''}`;
    if (this.seenCandidates.has(candidateKey)) {
      return true;
    }
    if (this.seenCandidates.size >= MAX_URLS_PER_MESSAGE) {
      this.result.urlLimitReached = true;
      return false;
    }
    this.seenCandidates.add(candidateKey);

    const url = resolveWebUrl(value, base);
    if (url === undefined) {
      return true;
    }
    const urlKey = `${url.href}\u0000${anchorText ?? ''}`;
    if (this.seenUrls.has(urlKey)) {
      return true;
    }
    this.seenUrls.add(urlKey);

    const hostname = normalizeHostname(url.hostname);
    const extracted: ParsedExtractedUrl = { href: url.href, hostname, source, mimePath, url };
    if (anchorText !== undefined) {
      extracted.anchorText = anchorText;
    }
    this.result.urls.push(extracted);
    return true;
  }

  private addPasswordForm(form: PasswordForm, mimePath: string): void {
    const action = form.action === undefined ? undefined : resolveWebUrl(form.action, form.base);
    this.result.passwordForms.push({ mimePath, hasAction: form.action !== undefined, action });
  }
}

/**
 * Parses `value` as an absolute http, https or ftp URL, resolving it against `base` when given.
 * Returns undefined for relative URLs without a base, other schemes and unparseable values.
 */
export function resolveWebUrl(value: string, base: string | undefined): URL | undefined {
  const trimmed = value.trim();
  // data: URIs can be megabytes of inline image, and they have no host.
  if (trimmed.length === 0 || trimmed.slice(0, 5).toLowerCase() === 'data:') {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(trimmed, toBase(base));
  } catch {
    return undefined;
  }
  if (!WEB_PROTOCOLS.has(url.protocol) || url.hostname === '') {
    return undefined;
  }
  return url.hostname === RELATIVE_PLACEHOLDER_HOST ? undefined : url;
}

function toBase(base: string | undefined): string {
  if (base === undefined) {
    return RELATIVE_PLACEHOLDER_BASE;
  }
  const resolved = resolveWebUrl(base, undefined);
  return resolved === undefined ? RELATIVE_PLACEHOLDER_BASE : resolved.href;
}

/**
 * Cuts `text` to at most `maxBytes` bytes of UTF-8 without splitting a character. The byte count
 * is computed only when the length in UTF-16 code units leaves it in doubt.
 */
export function truncateToUtf8Bytes(
  text: string,
  maxBytes: number,
): { text: string; truncated: boolean } {
  if (text.length * 3 <= maxBytes) {
    return { text, truncated: false };
  }
  if (text.length <= maxBytes && Buffer.byteLength(text, 'utf8') <= maxBytes) {
    return { text, truncated: false };
  }
  const head = text.slice(0, maxBytes);
  const { read } = new TextEncoder().encodeInto(head, new Uint8Array(maxBytes));
  return { text: head.slice(0, read), truncated: true };
}

/**
 * Splits text into slices of at most about `maxChars`, at a line break where one exists, so that
 * no URL (which never contains a line break) is cut in two. A longer line is cut at whitespace,
 * or hard when it has none.
 */
export function* sliceAtLineBreaks(text: string, maxChars: number): Generator<string> {
  let start = 0;
  while (text.length - start > maxChars) {
    const limit = start + maxChars;
    let cut = text.lastIndexOf('\n', limit);
    if (cut <= start) {
      cut = Math.max(text.lastIndexOf(' ', limit), text.lastIndexOf('\t', limit));
    }
    if (cut <= start) {
      cut = limit;
    }
    yield text.slice(start, cut);
    start = cut;
  }
  yield text.slice(start);
}
