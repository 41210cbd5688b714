import { DATE_LIKE, domainSuffixes } from './header-tokens.js';
import type { EmitToken, TokenSink } from './token-sink.js';

const MIN_WORD_LENGTH = 3;
const MAX_WORD_LENGTH = 12;

/** Bits of {@link ASCII_CLASS}: what each ASCII character counts as while a word is read. */
const LOWER = 1;
const UPPER = 2;
const DIGIT = 4;
const WHITESPACE = 8;
const AT = 16;
const DOT = 32;
const COLON = 64;
/** Punctuation trimmed from both ends of a word. */
const EDGE = 128;

/**
 * Classes of the ASCII characters, by character code, so that the word loop reads one table
 * entry per character instead of testing ranges. Whitespace is the ASCII part of the `\s`
 * class of regular expressions.
 */
const ASCII_CLASS = new Uint8Array(128);
for (let code = 0x61; code <= 0x7a; code += 1) {
  ASCII_CLASS[code] = LOWER;
}
for (let code = 0x41; code <= 0x5a; code += 1) {
  ASCII_CLASS[code] = UPPER;
}
for (let code = 0x30; code <= 0x39; code += 1) {
  ASCII_CLASS[code] = DIGIT;
}
for (const code of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]) {
  ASCII_CLASS[code] = WHITESPACE;
}
for (const character of '()"\'<>[]{}*.,;:!?`|=~_-') {
  ASCII_CLASS[character.charCodeAt(0)] |= EDGE;
}
ASCII_CLASS[0x40] |= AT;
ASCII_CLASS[0x2e] |= DOT;
ASCII_CLASS[0x3a] |= COLON;

/**
 * Emits word tokens for plain text: lower-cased words of 3 to 12 characters, a `long:` token
 * for longer ones (by first letter and length), adjacent word pairs, URL and email tokens, and
 * the uppercase and non-ASCII share of the letters. A word of ASCII letters goes to the sink as
 * a character range, without a string of its own. A word of three or more capital letters also
 * gives a `caps:` token with its case kept, because shouting is a spam habit of every period.
 */
export function emitTextTokens(text: string, sink: TokenSink): void {
  sink.endWordRun();
  let letters = 0;
  let upperLetters = 0;
  let nonAscii = 0;

  const length = text.length;
  let start = 0;
  while (start < length) {
    // Splits at whitespace as text.split(/\s+/) would, without building the array of words.
    while (start < length && isWhitespace(text.charCodeAt(start))) {
      start += 1;
    }
    // One pass finds the end of the word and classifies its characters. Trimming the edges
    // below removes only punctuation, so it changes none of these counts, only `.` and `:`.
    let end = start;
    let classes = 0;
    let wordLetters = 0;
    let wordUpperLetters = 0;
    let wordNonAscii = 0;
    for (; end < length; end += 1) {
      const code = text.charCodeAt(end);
      if (code < 0x80) {
        const characterClass = ASCII_CLASS[code];
        if (characterClass === WHITESPACE) {
          break;
        }
        classes |= characterClass;
        wordLetters += characterClass & LOWER;
        wordUpperLetters += (characterClass & UPPER) >> 1;
      } else if (isNonAsciiWhitespace(code)) {
        break;
      } else {
        wordNonAscii += 1;
      }
    }
    if (end === start) {
      break;
    }
    const rawStart = start;
    start = end;
    if (startsWithUrl(text, rawStart, end)) {
      emitUrlTokens(text.slice(rawStart, end), sink.emit);
      sink.endWordRun();
      continue;
    }

    let wordStart = rawStart;
    let wordEnd = end;
    if ((classes & EDGE) !== 0) {
      while (wordStart < wordEnd && isEdgePunctuation(text.charCodeAt(wordStart))) {
        wordStart += 1;
      }
      while (wordEnd > wordStart && isEdgePunctuation(text.charCodeAt(wordEnd - 1))) {
        wordEnd -= 1;
      }
    }
    const hasDigit = (classes & DIGIT) !== 0;
    const hasDot = (classes & DOT) !== 0 && includesCode(text, wordStart, wordEnd, 0x2e);
    const hasColon = (classes & COLON) !== 0 && includesCode(text, wordStart, wordEnd, 0x3a);
    if ((classes & AT) !== 0 && hasDot) {
      emitEmailTokens(text.slice(wordStart, wordEnd), sink.emit);
      sink.endWordRun();
      continue;
    }
    letters += wordLetters + wordUpperLetters;
    upperLetters += wordUpperLetters;
    nonAscii += wordNonAscii;

    const wordLength = wordEnd - wordStart;
    const isShouted = wordUpperLetters >= MIN_WORD_LENGTH && wordUpperLetters === wordLength;
    if (isShouted && wordLength <= MAX_WORD_LENGTH) {
      // The raw form of a shouted word, next to its lower-cased form below.
      sink.rangeToken('caps:', text, wordStart, wordEnd);
    }
    if (wordLength < MIN_WORD_LENGTH) {
      sink.endWordRun();
    } else if (!hasDigit && !hasColon && wordNonAscii === 0 && wordLength <= MAX_WORD_LENGTH) {
      sink.asciiWord(text, wordStart, wordEnd);
    } else {
      const token = toWordToken(text.slice(wordStart, wordEnd), hasDigit);
      if (token === undefined) {
        sink.endWordRun();
      } else {
        sink.word(token);
      }
    }
  }

  if (letters >= 40) {
    sink.emit(`text:uppercase-share:${Math.floor((upperLetters / letters) * 10)}`);
  }
  if (nonAscii > 0) {
    const share = Math.min(Math.floor((nonAscii / (letters + nonAscii)) * 10), 9);
    sink.emit(`text:non-ascii-share:${share}`);
  }
}

function isEdgePunctuation(code: number): boolean {
  return code < 0x80 && (ASCII_CLASS[code] & EDGE) !== 0;
}

function includesCode(text: string, start: number, end: number, code: number): boolean {
  for (let index = start; index < end; index += 1) {
    if (text.charCodeAt(index) === code) {
      return true;
    }
  }
  return false;
}

function isWhitespace(code: number): boolean {
  return code < 0x80 ? ASCII_CLASS[code] === WHITESPACE : isNonAsciiWhitespace(code);
}

/**
 * Tests a code unit from U+0080 up against the `\s` class of regular expressions: the space
 * separators of Unicode category Zs, U+2028, U+2029 and U+FEFF. A test compares this function
 * with `/\s/` for every code unit.
 */
export function isNonAsciiWhitespace(code: number): boolean {
  if (code < 0x2000) {
    return code === 0xa0 || code === 0x1680;
  }
  if (code <= 0x200a) {
    return true;
  }
  return (
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/**
 * Tests whether text[start, end) begins with `http://`, `https://`, `ftp://` or `www.`, in any
 * ASCII case, as /^(?:(?:https?|ftp):\/\/|www\.)/i does (without the `u` flag, that pattern
 * matches no non-ASCII character).
 */
function startsWithUrl(text: string, start: number, end: number): boolean {
  const first = text.charCodeAt(start) | 0x20;
  if (first === 0x68) {
    return (
      startsWithAsciiIgnoringCase(text, start, end, 'http://') ||
      startsWithAsciiIgnoringCase(text, start, end, 'https://')
    );
  }
  if (first === 0x66) {
    return startsWithAsciiIgnoringCase(text, start, end, 'ftp://');
  }
  if (first === 0x77) {
    return startsWithAsciiIgnoringCase(text, start, end, 'www.');
  }
  return false;
}

/** Compares letters of `prefix` (lower-case ASCII) in either case and other characters exactly. */
function startsWithAsciiIgnoringCase(
  text: string,
  start: number,
  end: number,
  prefix: string,
): boolean {
  if (end - start < prefix.length) {
    return false;
  }
  for (let index = 0; index < prefix.length; index += 1) {
    const expected = prefix.charCodeAt(index);
    const code = text.charCodeAt(start + index);
    const isLetter = expected >= 0x61 && expected <= 0x7a;
    if (isLetter ? (code | 0x20) !== expected : code !== expected) {
      return false;
    }
  }
  return true;
}

function toWordToken(word: string, hasDigit: boolean): string | undefined {
  if (word.length < MIN_WORD_LENGTH) {
    return undefined;
  }
  const first = word.charCodeAt(0);
  const startsWithDigit = first >= 0x30 && first <= 0x39;
  if (startsWithDigit && /^[0-9]+$/.test(word)) {
    // Bare numbers are mostly dates, times and ids, which describe when a message was sent.
    return `number:${Math.min(word.length, 10)}`;
  }
  // Every date or time form DATE_LIKE matches contains a digit.
  if (hasDigit && DATE_LIKE.test(word)) {
    return 'date-like';
  }
  if (word.length > MAX_WORD_LENGTH) {
    return `long:${word[0].toLowerCase()}:${Math.min(Math.floor(word.length / 10) * 10, 50)}`;
  }
  return word.toLowerCase();
}

/** Emits tokens for the host, port and path pieces of a URL, but none for its scheme. */
export function emitUrlTokens(url: string, emit: EmitToken): void {
  const match = /^(?:([a-z]+):\/\/)?([^/?#:\s]+)(?::(\d+))?([^\s]*)/i.exec(url.trim());
  if (!match) {
    return;
  }
  // The scheme is left out: http in 2002 and https today would teach the era, not the sender.
  const host = match[2].toLowerCase();
  if (match[3]) {
    emit('url:has-port');
  }
  if (/^[\d.]+$/.test(host)) {
    emit('url:host-is-ip');
  } else {
    for (const suffix of domainSuffixes(host, 2)) {
      emit('url:host:', suffix);
    }
  }
  if (host.includes('@') || /%[0-9a-f]{2}/i.test(host)) {
    emit('url:obfuscated-host');
  }
  emitPathTokens(match[4].toLowerCase(), emit);
}

/** Characters that separate the pieces of a URL path, as a lookup table by character code. */
const PATH_SEPARATOR = new Uint8Array(128);
for (const character of '/?&=.#_-') {
  PATH_SEPARATOR[character.charCodeAt(0)] = 1;
}

function isPathSeparator(code: number): boolean {
  return code < 0x80 && PATH_SEPARATOR[code] === 1;
}

/**
 * Emits a token for each of the first 10 pieces of a lower-cased URL path, as
 * `path.split(/[/?&=.#_-]+/).slice(0, 10)` gives them, that has 3 to 20 characters and is not
 * all digits. The loop counts the empty pieces that split gives before a leading separator run
 * and after a trailing one, without building the array of every piece.
 */
function emitPathTokens(path: string, emit: EmitToken): void {
  let pieceCount = 0;
  let start = 0;
  while (pieceCount < 10) {
    let end = start;
    let allDigits = true;
    while (end < path.length && !isPathSeparator(path.charCodeAt(end))) {
      const code = path.charCodeAt(end);
      allDigits &&= code >= 0x30 && code <= 0x39;
      end += 1;
    }
    pieceCount += 1;
    const length = end - start;
    if (length >= 3 && length <= 20 && !allDigits) {
      emit('url:path:', path.slice(start, end));
    }
    if (end === path.length) {
      return;
    }
    while (end < path.length && isPathSeparator(path.charCodeAt(end))) {
      end += 1;
    }
    start = end;
  }
}

function emitEmailTokens(word: string, emit: EmitToken): void {
  const at = word.lastIndexOf('@');
  const name = word.slice(0, at).toLowerCase();
  if (name.length > 0 && name.length <= 30) {
    emit('email:name:', name.replace(/^mailto:/, ''));
  }
  for (const suffix of domainSuffixes(word.slice(at + 1).toLowerCase(), 2)) {
    emit('email:domain:', suffix);
  }
}
