import type { TokenSink } from './token-sink.js';
import { MAX_TOKENS_PER_MESSAGE } from './tokenize.js';

/** The FNV-1a offset basis as an int32, so that hash variables stay small integers. */
const FNV_OFFSET_BASIS = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const SPACE = 0x20;

/** Hashes a token with 32-bit FNV-1a over its UTF-16 code units. Never returns 0. */
export function hashToken(token: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (let index = 0; index < token.length; index += 1) {
    hash = Math.imul(hash ^ token.charCodeAt(index), FNV_PRIME);
  }
  return hash >>> 0 || 1;
}

/** Returns `hashToken(`${first} ${second}`)` without building the joined string. */
export function hashPair(first: string, second: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (let index = 0; index < first.length; index += 1) {
    hash = Math.imul(hash ^ first.charCodeAt(index), FNV_PRIME);
  }
  hash = Math.imul(hash ^ SPACE, FNV_PRIME);
  for (let index = 0; index < second.length; index += 1) {
    hash = Math.imul(hash ^ second.charCodeAt(index), FNV_PRIME);
  }
  return hash >>> 0 || 1;
}

/** Returns `hashToken(prefix + value)` without building the joined string. */
export function hashPrefixed(prefix: string, value: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (let index = 0; index < prefix.length; index += 1) {
    hash = Math.imul(hash ^ prefix.charCodeAt(index), FNV_PRIME);
  }
  for (let index = 0; index < value.length; index += 1) {
    hash = Math.imul(hash ^ value.charCodeAt(index), FNV_PRIME);
  }
  return hash >>> 0 || 1;
}

function toAsciiLowerCase(code: number): number {
  return code >= 0x41 && code <= 0x5a ? code + 0x20 : code;
}

/** Receives the hash of each distinct token of a message. */
export interface HashReceiver {
  add(hash: number): void;
}

/** Slots of the table of seen hashes: a power of two, at least twice MAX_TOKENS_PER_MESSAGE. */
const SEEN_SLOTS = 8192;

/**
 * A token sink that hashes every token with {@link hashToken}, word pairs included, and passes
 * each hash seen for the first time in the message to a receiver, up to
 * {@link MAX_TOKENS_PER_MESSAGE} distinct hashes. Plain ASCII words are hashed straight from
 * the text, and a pair's hash continues from the FNV state after the previous word and a space,
 * so that ordinary words need no strings. Distinct tokens are recognized by their 32-bit hash,
 * so two tokens of one message with the same hash count once.
 *
 * The seen-hash table is allocated once and reused: {@link HashTokenSink.start} empties it by
 * moving to a new generation, so one sink serves one message at a time.
 */
export class HashTokenSink implements TokenSink {
  /**
   * Open-addressing table of hashes: slot `i` contains the generation that filled it at index
   * `2 * i` and the hash at `2 * i + 1`. A slot of an older generation is empty.
   */
  private readonly seen = new Uint32Array(2 * SEEN_SLOTS);
  private generation = 0;
  private distinctCount = 0;
  private receiver: HashReceiver = { add: () => undefined };
  /** FNV state after the previous word token and a space, when `hasPrevious` is set. */
  private pairState = 0;
  private hasPrevious = false;

  /** Starts a new message whose distinct token hashes go to `receiver`. */
  start(receiver: HashReceiver): void {
    this.receiver = receiver;
    this.distinctCount = 0;
    this.hasPrevious = false;
    if (this.generation === 0xffffffff) {
      this.seen.fill(0);
      this.generation = 0;
    }
    this.generation += 1;
  }

  readonly emit = (prefix: string, value?: string): void => {
    this.addHash(value === undefined ? hashToken(prefix) : hashPrefixed(prefix, value));
  };

  word(token: string): void {
    let hash = FNV_OFFSET_BASIS;
    let pair = this.pairState;
    for (let index = 0; index < token.length; index += 1) {
      const code = token.charCodeAt(index);
      hash = Math.imul(hash ^ code, FNV_PRIME);
      pair = Math.imul(pair ^ code, FNV_PRIME);
    }
    this.addWord(hash, pair, token.includes(':'));
  }

  asciiWord(text: string, start: number, end: number): void {
    let hash = FNV_OFFSET_BASIS;
    let pair = this.pairState;
    if (this.hasPrevious) {
      for (let index = start; index < end; index += 1) {
        const code = toAsciiLowerCase(text.charCodeAt(index));
        hash = Math.imul(hash ^ code, FNV_PRIME);
        pair = Math.imul(pair ^ code, FNV_PRIME);
      }
    } else {
      for (let index = start; index < end; index += 1) {
        hash = Math.imul(hash ^ toAsciiLowerCase(text.charCodeAt(index)), FNV_PRIME);
      }
    }
    this.addWord(hash, pair, false);
  }

  endWordRun(): void {
    this.hasPrevious = false;
  }

  rangeToken(prefix: string, text: string, start: number, end: number): void {
    let hash = FNV_OFFSET_BASIS;
    for (let index = 0; index < prefix.length; index += 1) {
      hash = Math.imul(hash ^ prefix.charCodeAt(index), FNV_PRIME);
    }
    for (let index = start; index < end; index += 1) {
      hash = Math.imul(hash ^ text.charCodeAt(index), FNV_PRIME);
    }
    this.addHash(hash >>> 0 || 1);
  }

  /** Adds a word token and its pair from unfinished FNV states, as StringTokenSink orders them. */
  private addWord(hash: number, pair: number, hasColon: boolean): void {
    this.addHash(hash >>> 0 || 1);
    if (this.hasPrevious) {
      this.addHash(pair >>> 0 || 1);
    }
    this.hasPrevious = !hasColon;
    this.pairState = Math.imul(hash ^ SPACE, FNV_PRIME);
  }

  private addHash(hash: number): void {
    if (this.distinctCount >= MAX_TOKENS_PER_MESSAGE) {
      return;
    }
    const mask = SEEN_SLOTS - 1;
    let slot = hash & mask;
    while (this.seen[2 * slot] === this.generation) {
      if (this.seen[2 * slot + 1] === hash) {
        return;
      }
      slot = (slot + 1) & mask;
    }
    this.seen[2 * slot] = this.generation;
    this.seen[2 * slot + 1] = hash;
    this.distinctCount += 1;
    this.receiver.add(hash);
  }
}
