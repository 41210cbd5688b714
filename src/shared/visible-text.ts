/**
 * Characters replaced by {@link toVisibleText}: control characters (Unicode category Cc, which
 * includes newline and tab), format characters (Cf: the bidirectional controls U+061C, U+200E,
 * U+200F, U+202A to U+202E and U+2066 to U+2069, zero-width spaces, the byte order mark, soft
 * hyphens) and the line and paragraph separators U+2028 and U+2029. A right-to-left override
 * makes "invoice\u202Egpj.exe" display as "invoiceexe.jpg", and a newline splits one table row in
 * two. The zero-width non-joiner and joiner (U+200C, U+200D) stay, because Persian, Indic scripts
 * and emoji sequences need them and they do not reorder text.
 */
const HIDDEN_CHARACTERS = /(?![\u200C\u200D])[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/** The same set without newline, carriage return and tab, for text shown on several lines. */
const HIDDEN_CHARACTERS_MULTILINE = /(?![\u200C\u200D\n\r\t])[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/**
 * Replaces each invisible or text-reordering character with a visible marker such as `⟨U+202E⟩`.
 * Use it on text taken from a message (file names, subjects, addresses), so that a terminal or
 * page shows what the text contains rather than what it pretends to be.
 * @param options.multiline keep newlines, carriage returns and tabs, for message bodies.
 */
export function toVisibleText(text: string, options: { multiline?: boolean } = {}): string {
  const pattern = options.multiline === true ? HIDDEN_CHARACTERS_MULTILINE : HIDDEN_CHARACTERS;
  return text.replace(pattern, (character) => {
    const codePoint = character.codePointAt(0) ?? 0;
    return `⟨U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}⟩`;
  });
}

/**
 * Serializes a value as JSON with every character of HIDDEN_CHARACTERS_MULTILINE written as a
 * `\uXXXX` escape (a surrogate pair past U+FFFF), so that a terminal shows `\u202e` where the
 * text contains a right-to-left override. JSON.stringify already escapes U+0000 to U+001F inside
 * strings, and the only raw newlines and spaces it writes are indentation, so the output stays
 * valid JSON that parses back to the same value.
 * @param indent spaces of indentation, as JSON.stringify takes them; none for one line.
 */
export function toVisibleJson(value: unknown, indent?: number): string {
  const json = JSON.stringify(value, null, indent);
  return json.replace(HIDDEN_CHARACTERS_MULTILINE, (character) => {
    let escaped = '';
    for (let i = 0; i < character.length; i += 1) {
      escaped += `\\u${character.charCodeAt(i).toString(16).padStart(4, '0')}`;
    }
    return escaped;
  });
}
