import { LinkifyIt } from 'linkify-it';

/**
 * Finds links with a scheme (`http://`, `https://`, `ftp://`, `//`). Fuzzy links are off because
 * linkify-it accepts only a short list of top-level domains for them and because bare names like
 * `setup.py` are not links. `urlAuth` keeps `http://contoso.com@evil.example/` whole.
 */
const linkify = new LinkifyIt({ fuzzyLink: false, fuzzyEmail: false, urlAuth: true });

/**
 * Bare `www.` hosts with any top-level domain, which mail clients turn into links. The look-behind
 * skips `www.` inside a longer URL or address, which linkify-it reports on its own.
 */
const BARE_WWW_HOST =
  /(?<![\p{L}\p{N}_.@/:-])www\.[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+(?::\d{1,5})?(?:[/?#][^\s<>"'`]*)?/giu;

const WWW_PREFIX = /www\./i;

/** Punctuation that ends a sentence rather than a URL. */
const TRAILING_PUNCTUATION = /[.,;:!?)\]}'"]+$/;

/**
 * Calls `onUrl` with each link written in plain text and stops early when it returns false.
 * Scheme links come first, then bare `www.` hosts with `http://` added. Protocol-relative links
 * (`//host/path`) are passed as written. Returns false when stopped early.
 */
export function findTextUrls(text: string, onUrl: (url: string) => boolean): boolean {
  // With fuzzy links off, every link linkify-it can find contains `//` (a scheme such as https:
  // or a protocol-relative link) or `www.`; text without either skips its costly expressions.
  if (text.includes('//') || WWW_PREFIX.test(text)) {
    for (const match of linkify.match(text) ?? []) {
      if (match.schema !== 'mailto:' && !onUrl(match.url)) {
        return false;
      }
    }
  }
  if (WWW_PREFIX.test(text)) {
    for (const match of text.matchAll(BARE_WWW_HOST)) {
      const host = match[0].replace(TRAILING_PUNCTUATION, '');
      if (!onUrl(`http://${host}`)) {
        return false;
      }
    }
  }
  return true;
}
