import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { findGtube, GTUBE } from '../../../src/scanning/antispam/gtube.js';
import { createDeadline } from '../../../src/scanning/deadline.js';
import type { Deadline, Finding } from '../../../src/scanning/types.js';
import { makeView } from './views.js';

const EXPIRED: Deadline = { expiresAt: 0, expired: () => true };

function signatures(findings: Finding[]): string[] {
  return findings.map((finding) => finding.signature);
}

function searchRawMessage(raw: string, deadline: Deadline = createDeadline(5000)): string[] {
  return signatures(findGtube(makeView({ raw }), deadline, 'test'));
}

/** What the raw search must answer: GTUBE in the raw text with every soft line break removed. */
function expectedSignatures(raw: string): string[] {
  return raw.replace(/=\r?\n/g, '').includes(GTUBE) ? ['Spam.GTUBE'] : [];
}

/** A deterministic generator of numbers in [0, 1), so that failures reproduce. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

describe('findGtube raw search', () => {
  it('finds GTUBE in raw text without soft line breaks', () => {
    const raw = `Subject: t\r\n\r\nbefore ${GTUBE} after\r\n`;
    assert.deepEqual(searchRawMessage(raw), ['Spam.GTUBE']);
  });

  it('finds nothing in raw text without soft line breaks', () => {
    const raw = `Subject: t\r\n\r\n${GTUBE.slice(0, 67)}\r\n${GTUBE.slice(1)}\r\n`;
    assert.deepEqual(searchRawMessage(raw), []);
  });

  it('reports a timeout for a short message after the deadline', () => {
    const raw = `Subject: t\r\n\r\n${GTUBE}\r\n`;
    assert.deepEqual(searchRawMessage(raw, EXPIRED), ['limit.scan-timeout']);
  });

  it('finds GTUBE split only by CRLF soft breaks', () => {
    const raw = `Subject: t\r\n\r\n${GTUBE.slice(0, 10)}=\r\n${GTUBE.slice(10)}\r\n`;
    assert.deepEqual(searchRawMessage(raw), ['Spam.GTUBE']);
  });

  it('finds GTUBE split only by LF soft breaks', () => {
    const raw = `Subject: t\n\n${GTUBE.slice(0, 60)}=\n${GTUBE.slice(60)}\n`;
    assert.deepEqual(searchRawMessage(raw), ['Spam.GTUBE']);
  });

  it('ignores a line break after a hard equals sign', () => {
    // `=\r` followed by a space is no soft break, so the string stays split.
    const raw = `Subject: t\r\n\r\n${GTUBE.slice(0, 30)}=\r ${GTUBE.slice(30)}\r\n`;
    assert.deepEqual(searchRawMessage(raw), []);
  });

  it('matches removing soft breaks on random messages', () => {
    const random = seededRandom(7);
    const pieces = ['=\n', '=\r\n', '=', '\r\n', '\n', '\r', 'x', ' '];
    for (let round = 0; round < 400; round += 1) {
      let body = '';
      let rest = GTUBE;
      while (rest.length > 0) {
        const take = 1 + Math.floor(random() * 30);
        body += rest.slice(0, take);
        rest = rest.slice(take);
        // Most gaps are soft breaks; some are bytes that keep the string apart.
        if (random() < 0.5) {
          body += pieces[Math.floor(random() * pieces.length)];
        }
      }
      const raw = `Subject: t\r\n\r\n${body}\r\n`;
      assert.deepEqual(searchRawMessage(raw), expectedSignatures(raw), JSON.stringify(raw));
    }
  });

  it('matches removing soft breaks around false starts and runs of equals signs', () => {
    const random = seededRandom(11);
    const pieces = ['==\n', '==\r\n\n', '=\r\r\n', '=\n=\n', 'X', GTUBE.slice(0, 20)];
    pieces.push('=\n\n', '\r');
    for (let round = 0; round < 400; round += 1) {
      let body = random() < 0.5 ? GTUBE.slice(0, Math.floor(random() * 40)) : '';
      let rest = GTUBE;
      while (rest.length > 0) {
        const take = 1 + Math.floor(random() * 20);
        body += rest.slice(0, take);
        rest = rest.slice(take);
        if (random() < 0.6) {
          body += pieces[Math.floor(random() * pieces.length)];
        }
      }
      const raw = `Subject: t\n\n${body}`;
      assert.deepEqual(searchRawMessage(raw), expectedSignatures(raw), JSON.stringify(raw));
    }
  });
});
