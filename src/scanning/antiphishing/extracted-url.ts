/**
 * Location in the message where a URL was written: plain text, an HTML attribute (`href` of `a` and
 * `area`, `src` of `img`, `iframe`, `frame`, `script` and `embed`, `action` of `form`,
 * `href` of `base`), a `<meta http-equiv="refresh">` target, or the Subject header.
 */
export type UrlSource =
  'text' | 'href' | 'src' | 'form-action' | 'meta-refresh' | 'base' | 'subject';

/** One URL found in a message. */
export interface ExtractedUrl {
  /** Absolute URL as serialized by the WHATWG URL parser (`http://192.168.1.1/`). */
  href: string;
  /** Lower-case ASCII host without a trailing dot: IDNs in punycode, IPv6 in brackets. */
  hostname: string;
  source: UrlSource;
  /** Path of the body the URL came from, or `''` for the Subject header. */
  mimePath: string;
  /** Visible text of an `a` element, whitespace collapsed, cut at 256 characters. */
  anchorText?: string;
}
