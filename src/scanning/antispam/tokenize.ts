import type { MessageView } from '../types.js';
import { DATE_LIKE, domainSuffixes, emitHeaderTokens } from './header-tokens.js';
import { digestHtml } from './html-text.js';
import { stripListFooter } from './list-footer.js';

/**
 * Version of the token scheme. A model records the version it was trained with, and loading a
 * model of another version fails, because its token counts would no longer match.
 */
export const TOKENIZER_VERSION = 2;

/** Most distinct tokens taken from one message; a message with more is cut off at this count. */
export const MAX_TOKENS_PER_MESSAGE = 3000;
/** Most characters read from one text or HTML body. */
export const MAX_BODY_CHARS = 60_000;
/** Most bodies read from one message, nested messages included. */
export const MAX_BODIES = 8;

const MIN_WORD_LENGTH = 3;
const MAX_WORD_LENGTH = 12;
const URL_START = /^(?:(?:https?|ftp):\/\/|www\.)/i;
/** Punctuation trimmed from both ends of a word, as a lookup table by character code. */
const EDGE_PUNCTUATION = new Uint8Array(128);
for (const character of '()"\'<>[]{}*.,;:!?`|=~_-') {
  EDGE_PUNCTUATION[character.charCodeAt(0)] = 1;
}

/**
 * Turns a message into the distinct tokens the classifier counts: header tokens prefixed by
 * their field name, body words and word pairs, URL hosts and paths, attachment types and a few
 * shape features (uppercase share, image and link counts). HTML markup itself is not tokenized,
 * because the training corpus has almost no legitimate HTML mail. Work is bounded by
 * {@link MAX_BODY_CHARS}, {@link MAX_BODIES} and {@link MAX_TOKENS_PER_MESSAGE}, whatever the
 * message size.
 */
export function tokenize(view: MessageView): Set<string> {
  const tokens = new Set<string>();
  emitTokens(view, (token) => {
    if (tokens.size < MAX_TOKENS_PER_MESSAGE) {
      tokens.add(token);
    }
  });
  return tokens;
}

/**
 * Passes every token of {@link tokenize} to `emit`, duplicates included, without collecting
 * them, so that a caller can hash tokens as they come. The caller applies
 * {@link MAX_TOKENS_PER_MESSAGE}.
 */
/** Receives a word pair; the default joins the two words with a space and emits the result. */
export type PairEmitter = (first: string, second: string) => void;

export function emitTokens(
  view: MessageView,
  emit: (token: string) => void,
  emitPair: PairEmitter = (first, second) => emit(`${first} ${second}`),
): void {
  emitHeaderTokens(view.headers, emit);
  emitPartTokens(view, emit);

  const bodies = view.bodies.slice(0, MAX_BODIES);
  if (bodies.length === 0) {
    emit('body:none');
  }
  for (const body of bodies) {
    const text = stripListFooter(body.text.slice(0, MAX_BODY_CHARS));
    if (body.type === 'html') {
      emitHtmlTokens(text, emit, emitPair);
    } else {
      emitTextTokens(text, emit, emitPair);
    }
  }
}

/**
 * Emits the media types and filename extensions of attachments. Text parts are left out: in the
 * 2002 training corpus legitimate mail was plain text, so `text/html` would teach that HTML
 * means spam, which is false for mail today.
 */
function emitPartTokens(view: MessageView, emit: (token: string) => void): void {
  const parts = view.parts.slice(0, 50);
  emit(`part:count:${Math.min(view.parts.length, 8)}`);
  for (const part of parts) {
    if (!part.contentType.startsWith('text/')) {
      emit(`part:${part.contentType.slice(0, 60)}`);
    }
    const extension = part.filename ? /\.([a-z0-9]{1,8})$/i.exec(part.filename) : null;
    if (extension) {
      emit(`part:extension:${extension[1].toLowerCase()}`);
    }
  }
}

function emitHtmlTokens(html: string, emit: (token: string) => void, emitPair: PairEmitter): void {
  const digest = digestHtml(html);
  emit(`images:count:${bucket(digest.imageCount)}`);
  emit(`links:count:${bucket(digest.anchorCount)}`);
  if (digest.commentLetters > 50) {
    emit('text:inside-html-comments');
  }
  for (const link of digest.links) {
    emitUrlTokens(link, emit);
  }
  emitTextTokens(digest.text, emit, emitPair);
}

/**
 * Emits word tokens for plain text: lower-cased words of 3 to 12 characters, a `long:` token
 * for longer ones (by first letter and length), adjacent word pairs, URL and email tokens, and
 * the uppercase and non-ASCII share of the letters.
 */
function emitTextTokens(text: string, emit: (token: string) => void, emitPair: PairEmitter): void {
  let previous = '';
  let letters = 0;
  let upperLetters = 0;
  let nonAscii = 0;

  let start = 0;
  while (start < text.length) {
    // Splits at whitespace as text.split(/\s+/) would, without building the array of words.
    while (start < text.length && isWhitespace(text.charCodeAt(start))) {
      start += 1;
    }
    let end = start;
    while (end < text.length && !isWhitespace(text.charCodeAt(end))) {
      end += 1;
    }
    if (end === start) {
      break;
    }
    const raw = text.slice(start, end);
    start = end;
    const first = raw.charCodeAt(0) | 0x20;
    // Only words starting with h, f or w can be URLs, so most words skip the regular expression.
    if ((first === 0x68 || first === 0x66 || first === 0x77) && URL_START.test(raw)) {
      emitUrlTokens(raw, emit);
      previous = '';
      continue;
    }
    const word = trimPunctuation(raw);
    if (word.includes('@') && word.includes('.')) {
      emitEmailTokens(word, emit);
      previous = '';
      continue;
    }
    let hasDigit = false;
    for (let index = 0; index < word.length; index += 1) {
      const code = word.charCodeAt(index);
      if (code >= 0x30 && code <= 0x39) {
        hasDigit = true;
      } else if (code > 0x7f) {
        nonAscii += 1;
      } else if (code >= 0x41 && code <= 0x5a) {
        upperLetters += 1;
        letters += 1;
      } else if (code >= 0x61 && code <= 0x7a) {
        letters += 1;
      }
    }

    const token = toWordToken(word, hasDigit);
    if (token === undefined) {
      previous = '';
      continue;
    }
    emit(token);
    if (previous.length > 0) {
      emitPair(previous, token);
    }
    previous = token.includes(':') ? '' : token;
  }

  if (letters >= 40) {
    emit(`text:uppercase-share:${Math.floor((upperLetters / letters) * 10)}`);
  }
  if (nonAscii > 0) {
    emit(`text:non-ascii-share:${Math.min(Math.floor((nonAscii / (letters + nonAscii)) * 10), 9)}`);
  }
}

/** ASCII whitespace by table; other code points as the \s class of regular expressions has them. */
const ASCII_WHITESPACE = new Uint8Array(128);
for (const code of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]) {
  ASCII_WHITESPACE[code] = 1;
}
const UNICODE_WHITESPACE = /\s/;

function isWhitespace(code: number): boolean {
  if (code < 0x80) {
    return ASCII_WHITESPACE[code] === 1;
  }
  return UNICODE_WHITESPACE.test(String.fromCharCode(code));
}

function trimPunctuation(raw: string): string {
  let start = 0;
  let end = raw.length;
  while (start < end && EDGE_PUNCTUATION[raw.charCodeAt(start)] === 1) {
    start += 1;
  }
  while (end > start && EDGE_PUNCTUATION[raw.charCodeAt(end - 1)] === 1) {
    end -= 1;
  }
  return start === 0 && end === raw.length ? raw : raw.slice(start, end);
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

function emitUrlTokens(url: string, emit: (token: string) => void): void {
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
    for (const suffix of domainSuffixes(host).slice(0, 2)) {
      emit(`url:host:${suffix}`);
    }
  }
  if (host.includes('@') || /%[0-9a-f]{2}/i.test(host)) {
    emit('url:obfuscated-host');
  }
  const pieces = match[4]
    .toLowerCase()
    .split(/[/?&=.#_-]+/)
    .slice(0, 10);
  for (const piece of pieces) {
    if (piece.length >= 3 && piece.length <= 20 && !/^[0-9]+$/.test(piece)) {
      emit(`url:path:${piece}`);
    }
  }
}

function emitEmailTokens(word: string, emit: (token: string) => void): void {
  const at = word.lastIndexOf('@');
  const name = word.slice(0, at).toLowerCase();
  if (name.length > 0 && name.length <= 30) {
    emit(`email:name:${name.replace(/^mailto:/, '')}`);
  }
  for (const suffix of domainSuffixes(word.slice(at + 1).toLowerCase()).slice(0, 2)) {
    emit(`email:domain:${suffix}`);
  }
}

function bucket(count: number): string {
  if (count <= 3) {
    return String(count);
  }
  return count <= 10 ? '4-10' : 'many';
}
