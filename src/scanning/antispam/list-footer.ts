/** Characters at the end of a body searched for a mailing-list footer. */
const FOOTER_SEARCH_CHARS = 3000;

/** A signature or separator line: `-- `, or a run of five or more `_` or `-`. */
const SEPARATOR_LINE = /^[ \t]*(?:_{5,}|-{5,}|--)[ \t]*\r?$/gm;

/**
 * Marks of list software in a footer: Mailman's `listinfo` page, Yahoo Groups, ezmlm, Majordomo
 * and SourceForge's list server. A sales footer ("click here to be removed") has none of them.
 */
const LIST_SOFTWARE = /\/listinfo\b|yahoogroups\.com|ezmlm|majordomo|lists\.sourceforge\.net/i;

/**
 * Cuts the footer that a mailing-list server appended to a body: the text from the first
 * separator line, within the last {@link FOOTER_SEARCH_CHARS}, whose remainder names list
 * software. The footer says which list relayed the message, not what its author wrote, so
 * leaving it in would let spam sent to a list borrow the list's good standing.
 */
export function stripListFooter(text: string): string {
  const start = Math.max(0, text.length - FOOTER_SEARCH_CHARS);
  const tail = start === 0 ? text : text.slice(start);
  if (!LIST_SOFTWARE.test(tail)) {
    return text;
  }
  SEPARATOR_LINE.lastIndex = 0;
  for (let match = SEPARATOR_LINE.exec(tail); match; match = SEPARATOR_LINE.exec(tail)) {
    if (LIST_SOFTWARE.test(tail.slice(match.index))) {
      return text.slice(0, start + match.index);
    }
  }
  return text;
}
