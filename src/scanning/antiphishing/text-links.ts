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
  // With fuzzy links off, every link linkify-it can find besides `mailto:` contains `//` (after
  // a scheme such as https:, or a protocol-relative link). No link spans a line break, so
  // linkify-it searches only the lines that contain `//` (read in linkify-it 6.1.0's patterns).
  const linkLines = joinLinesContaining(text, '//');
  if (linkLines !== '') {
    for (const match of linkify.match(linkLines) ?? []) {
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

/**
 * Joins the lines of `text` that contain `needle` with `\n`, in order, or returns `''` when none
 * does. Each line keeps its trailing `\r`. linkify-it treats a line start or end here like the
 * `\n` or text boundary next to it in `text`, so it finds the same links.
 */
function joinLinesContaining(text: string, needle: string): string {
  let found = text.indexOf(needle);
  if (found < 0) {
    return '';
  }
  const lines: string[] = [];
  while (found >= 0) {
    const start = text.lastIndexOf('\n', found) + 1;
    const newline = text.indexOf('\n', found);
    const end = newline < 0 ? text.length : newline;
    lines.push(start === 0 && end === text.length ? text : text.slice(start, end));
    found = newline < 0 ? -1 : text.indexOf(needle, newline + 1);
  }
  return lines.length === 1 ? (lines[0] ?? '') : lines.join('\n');
}
