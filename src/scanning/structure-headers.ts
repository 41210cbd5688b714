/** Header fields that decide how a part's body is split or decoded, or what the part is named. */
const STRUCTURE_FIELDS: ReadonlySet<string> = new Set([
  'content-type',
  'content-transfer-encoding',
  'content-disposition',
]);

/** Parameters inside those fields that decide the same, by field. */
const STRUCTURE_PARAMETERS = [
  { field: 'content-type', parameter: 'boundary' },
  { field: 'content-type', parameter: 'name' },
  { field: 'content-disposition', parameter: 'filename' },
] as const;

/** Header fields whose value, up to the first parameter, names how the part is split or decoded. */
const DECODING_FIELDS: ReadonlySet<string> = new Set(['content-type', 'content-transfer-encoding']);

/**
 * The start of an RFC 2047 encoded-word, as in `=?us-ascii?Q?multipart/mixed?=`. A media type or
 * transfer encoding token cannot contain `=` or `?` (RFC 2045 section 5.1), so the start is enough,
 * also when the encoded text contains a `;`.
 */
const ENCODED_WORD_START = '=?';

/**
 * Returns why a part's structure header fields allow more than one reading, as
 * `Content-Type occurs twice with different values`, or undefined when they allow one. A field or
 * parameter that occurs twice with different values is ambiguous. So is an RFC 2047 encoded-word
 * in the media type or transfer encoding, because RFC 2047 section 5 forbids it there and
 * postal-mime reads it literally, but Python's email package decodes it. Values are
 * compared with white space runs collapsed, and case kept, because a boundary is case sensitive.
 * A part without repeats costs one pass over its fields.
 */
export function findAmbiguousStructure(
  headers: readonly { key: string; value: string }[],
): string | undefined {
  const firstValues = new Map<string, string>();
  for (const header of headers) {
    if (!STRUCTURE_FIELDS.has(header.key)) {
      // RFC 5322's obsolete syntax allows white space before the colon. postal-mime keeps it in
      // the key, so the field is ignored here, while a lenient reader applies it.
      const trimmedKey = header.key.trimEnd();
      if (trimmedKey !== header.key && STRUCTURE_FIELDS.has(trimmedKey)) {
        return `${toFieldName(trimmedKey)} has white space before its colon`;
      }
      continue;
    }
    if (DECODING_FIELDS.has(header.key) && withoutParameters(header.value).includes(ENCODED_WORD_START)) {
      return `${toFieldName(header.key)} is an RFC 2047 encoded-word`;
    }
    const first = firstValues.get(header.key);
    if (first === undefined) {
      firstValues.set(header.key, header.value);
    } else if (countDistinct([first, header.value]) > 1) {
      return `${toFieldName(header.key)} occurs twice with different values`;
    }
  }
  for (const { field, parameter } of STRUCTURE_PARAMETERS) {
    const value = firstValues.get(field);
    if (value === undefined || !mentionsTwice(value.toLowerCase(), parameter)) {
      continue;
    }
    if (countDistinct(readParameterValues(value, parameter)) > 1) {
      return `${toFieldName(field)} ${parameter} occurs twice with different values`;
    }
  }
  return undefined;
}

/**
 * Returns the plain values of a parameter and, for `boundary`, also its RFC 2231 value
 * (`boundary*=''Z` or `boundary*0=`, `boundary*1*=` sections), because a reader that prefers the
 * RFC 2231 form splits the body at another delimiter. The RFC 2231 forms of `name` and
 * `filename` are left out: clients often repeat a plain filename in that form on purpose, for
 * older readers, and a different filename does not change how the body is split.
 */
function readParameterValues(value: string, parameter: string): string[] {
  const plain = new RegExp(`(?:^|;)\\s*${parameter}\\s*=\\s*("[^"]*"|[^;\\s]*)`, 'gi');
  const values = [...value.matchAll(plain)].map((match) => unquote(match[1] ?? ''));
  if (parameter !== 'boundary') {
    return values;
  }
  const extended = readExtendedParameter(value, parameter);
  return extended === undefined ? values : [...values, extended];
}

/**
 * Joins the RFC 2231 sections of a parameter in section order, percent-decoding the extended ones
 * (those whose name ends in `*`) and dropping the `charset'language'` prefix of the first.
 * Returns undefined when the parameter has no RFC 2231 form.
 */
function readExtendedParameter(value: string, parameter: string): string | undefined {
  const pattern = new RegExp(
    `(?:^|;)\\s*${parameter}\\*(?:(\\d+)(\\*)?)?\\s*=\\s*("[^"]*"|[^;\\s]*)`,
    'gi',
  );
  const sections = [...value.matchAll(pattern)].map((match) => ({
    index: Number(match[1] ?? 0),
    encoded: match[1] === undefined || match[2] === '*',
    text: unquote(match[3] ?? ''),
  }));
  if (sections.length === 0) {
    return undefined;
  }
  sections.sort((a, b) => a.index - b.index);
  return sections
    .map((section, position) => {
      if (!section.encoded) {
        return section.text;
      }
      const text = position === 0 ? section.text.replace(/^[^']*'[^']*'/, '') : section.text;
      return decodePercent(text);
    })
    .join('');
}

function decodePercent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // An invalid escape or a charset other than UTF-8 keeps the text as written, so a different
    // boundary still compares as different.
    return text;
  }
}

function withoutParameters(value: string): string {
  const semicolon = value.indexOf(';');
  return semicolon < 0 ? value : value.slice(0, semicolon);
}

function mentionsTwice(text: string, word: string): boolean {
  const first = text.indexOf(word);
  return first >= 0 && text.indexOf(word, first + word.length) >= 0;
}

function countDistinct(values: readonly string[]): number {
  if (values.length < 2) {
    return values.length;
  }
  return new Set(values.map((value) => value.replace(/\s+/g, ' ').trim())).size;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

function toFieldName(field: string): string {
  return field.replace(/(^|-)([a-z])/g, (_match, dash: string, letter: string) => dash + letter.toUpperCase());
}
