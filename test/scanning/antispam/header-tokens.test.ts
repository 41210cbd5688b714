import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { findHostNames, toShape } from '../../../src/scanning/antispam/header-tokens.js';

/** The definition: replace runs of digits, then lower-case, then upper-case ASCII letters. */
function referenceShape(text: string): string {
  return text
    .slice(0, 80)
    .replace(/[0-9]+/g, '9')
    .replace(/[a-z]+/g, 'a')
    .replace(/[A-Z]+/g, 'A');
}

/** A deterministic generator of numbers in [0, 1), so that failures reproduce. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

describe('toShape', () => {
  it('collapses runs by character class', () => {
    assert.equal(toShape('Ann.Smith42'), 'Aa.Aa9');
    assert.equal(toShape('----=_NextPart_000_0012'), '----=_AaAa_9_9');
    assert.equal(toShape(''), '');
  });

  it('reads only the first 80 characters', () => {
    assert.equal(toShape(`${'-'.repeat(79)}abc`), `${'-'.repeat(79)}a`);
  });

  it('matches the regular expression definition', () => {
    const random = seededRandom(3);
    const alphabet = ['a', 'z', 'A', 'Z', '0', '9', '.', '-', '_', '@', '`', '{', '[', '/', ':'];
    alphabet.push('é', 'Ä', '٣', '\ud83d', '\ude00', ' ');
    for (let round = 0; round < 2000; round += 1) {
      const length = Math.floor(random() * 100);
      let text = '';
      for (let index = 0; index < length; index += 1) {
        text += alphabet[Math.floor(random() * alphabet.length)];
      }
      assert.equal(toShape(text), referenceShape(text), JSON.stringify(text));
    }
  });
});

/** The definition that findHostNames follows. */
const HOST_NAME = /[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.[a-z]{2,}/g;

describe('findHostNames', () => {
  it('finds the host names of a Received field', () => {
    const text = 'from mail.example.co.uk (relay-2.example.net [192.0.2.1]) helo=x1.y';
    assert.deepEqual(findHostNames(text, 4), ['mail.example.co.uk', 'relay-2.example.net']);
    assert.deepEqual(findHostNames('a.bc1x.y c.de', 4), ['a.bc', 'c.de']);
    assert.deepEqual(findHostNames('a.b.c d.e', 4), []);
  });

  it('stops at the limit', () => {
    assert.deepEqual(findHostNames('a.bc d.ef g.hi', 2), ['a.bc', 'd.ef']);
  });

  it('matches the regular expression definition', () => {
    const random = seededRandom(5);
    const alphabet = ['a', 'b', 'cd', 'com', '1', '9', '-', '.', '.', '..', '-.', '0.', ' ', '_'];
    alphabet.push('é', 'Z', '(', '[');
    for (let round = 0; round < 5000; round += 1) {
      const length = Math.floor(random() * 16);
      let text = '';
      for (let index = 0; index < length; index += 1) {
        text += alphabet[Math.floor(random() * alphabet.length)];
      }
      const expected = text.match(HOST_NAME) ?? [];
      assert.deepEqual(findHostNames(text, 100), expected, JSON.stringify(text));
      assert.deepEqual(findHostNames(text, 2), expected.slice(0, 2), JSON.stringify(text));
    }
  });
});
