// The browser copy of src/shared/visible-text.ts, which documents the rule; a test checks that
// both give the same output. Bidirectional controls (a right-to-left override makes
// "invoice\u202Egpj.exe" display as "invoiceexe.jpg"), other control and format characters, and
// line separators become markers such as ⟨U+202E⟩. Zero-width (non-)joiners stay.

const HIDDEN_CHARACTERS = /(?![\u200C\u200D])[\p{Cc}\p{Cf}\u2028\u2029]/gu;
const HIDDEN_CHARACTERS_MULTILINE = /(?![\u200C\u200D\n\r\t])[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/** Replaces invisible and text-reordering characters with visible markers; `multiline` keeps line breaks and tabs. */
export function toVisibleText(text, { multiline = false } = {}) {
  const pattern = multiline ? HIDDEN_CHARACTERS_MULTILINE : HIDDEN_CHARACTERS;
  return String(text).replace(pattern, (character) => {
    const hex = character.codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `⟨U+${hex}⟩`;
  });
}
