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

/**
 * Returns the first structure header field or parameter of a part that occurs twice with different
 * values, as `Content-Type` or `Content-Type boundary`, or undefined when there is none. Values
 * are compared with white space runs collapsed, and case kept, because a boundary is case
 * sensitive. Only plain parameters are compared: RFC 2231 forms (`filename*=`) often repeat a
 * plain one on purpose, for older clients. A part without repeats costs one pass over its fields.
 */
export function findAmbiguousStructure(
  headers: readonly { key: string; value: string }[],
): string | undefined {
  const firstValues = new Map<string, string>();
  for (const header of headers) {
    if (!STRUCTURE_FIELDS.has(header.key)) {
      continue;
    }
    const first = firstValues.get(header.key);
    if (first === undefined) {
      firstValues.set(header.key, header.value);
    } else if (countDistinct([first, header.value]) > 1) {
      return toFieldName(header.key);
    }
  }
  for (const { field, parameter } of STRUCTURE_PARAMETERS) {
    const value = firstValues.get(field);
    if (value === undefined || !mentionsTwice(value.toLowerCase(), parameter)) {
      continue;
    }
    const pattern = new RegExp(`(?:^|;)\\s*${parameter}\\s*=\\s*("[^"]*"|[^;\\s]*)`, 'gi');
    const values = [...value.matchAll(pattern)].map((match) => unquote(match[1] ?? ''));
    if (countDistinct(values) > 1) {
      return `${toFieldName(field)} ${parameter}`;
    }
  }
  return undefined;
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
