import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  classifyMessage,
  classifyTokens,
  tokenize,
  trainSpamModel,
} from '../../../src/scanning/antispam/index.js';
import {
  hashPair,
  hashToken,
  lookupProbability,
  selectAscending,
  tokenGroup,
} from '../../../src/scanning/antispam/classifier.js';
import type { SpamModel } from '../../../src/scanning/antispam/model.js';
import { makeView, textMessage } from './views.js';

const model = await trainSpamModel(
  [
    { view: textMessage('offer', 'free prize click here now'), spam: true },
    { view: textMessage('offer', 'free money click here today'), spam: true },
    { view: textMessage('patch', 'review the patch for the parser'), spam: false },
    { view: textMessage('patch', 'the parser patch is merged'), spam: false },
  ],
  { threshold: 0.9, minTokenMessages: 1 },
);

describe('hashToken', () => {
  it('is deterministic and never zero', () => {
    assert.equal(hashToken('free'), hashToken('free'));
    assert.notEqual(hashToken('free'), hashToken('fref'));
    assert.notEqual(hashToken(''), 0);
  });
});

describe('lookupProbability', () => {
  it('finds trained tokens and misses unknown ones', () => {
    assert.ok(lookupProbability(model, hashToken('click')) > 0.5);
    assert.ok(lookupProbability(model, hashToken('parser')) < 0.5);
    assert.equal(lookupProbability(model, hashToken('never-trained-token')), 0);
  });
});

describe('classifyMessage', () => {
  it('matches classifyTokens over tokenize', () => {
    const views = [
      textMessage('offer', 'click here for a free prize'),
      textMessage('patch', 'the parser patch needs review'),
      makeView({ bodies: [{ path: '1', type: 'html', text: '<p>free <b>money</b> here</p>' }] }),
      makeView(),
    ];
    for (const view of views) {
      assert.deepEqual(classifyMessage(model, view), classifyTokens(model, tokenize(view)));
    }
  });

  it('keeps the strongest clues when there are too many', () => {
    const narrow = { ...model, parameters: { ...model.parameters, maxDiscriminators: 2 } };
    const result = classifyMessage(narrow, textMessage('offer', 'free prize click here money'));
    assert.equal(result.clueCount, 2);
    assert.ok(result.score > 0.5);
  });
});

describe('hashPair', () => {
  it('equals the hash of the joined pair', () => {
    for (const [first, second] of [['free', 'money'], ['ünïcode', 'wörds'], ['a', '']]) {
      assert.equal(hashPair(first, second), hashToken(`${first} ${second}`));
    }
  });
});

describe('selectAscending', () => {
  /** A deterministic generator of numbers in [0, 1), so that failures reproduce. */
  function seededRandom(seed: number): () => number {
    let state = seed;
    return () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
  }

  it('matches sort on random strengths', () => {
    const random = seededRandom(11);
    for (let round = 0; round < 300; round += 1) {
      const length = 1 + Math.floor(random() * 600);
      // Few distinct values, as trained probabilities repeat, and some unique ones.
      const distinct = 1 + Math.floor(random() * 40);
      const repeated = (): number => Math.fround(Math.floor(random() * distinct) / (2 * distinct));
      const values = Float64Array.from({ length }, () =>
        random() < 0.8 ? repeated() : random() / 2,
      );
      const sorted = values.slice().sort();
      for (const rank of [0, length - 1, Math.floor(random() * length)]) {
        const selected = selectAscending(values.slice(), rank);
        assert.ok(Object.is(selected, sorted[rank]), `round ${round} rank ${rank}`);
      }
    }
  });

  it('matches sort on ordered and equal values', () => {
    const cases = [
      Float64Array.from({ length: 500 }, (_, index) => index / 1000),
      Float64Array.from({ length: 500 }, (_, index) => (500 - index) / 1000),
      new Float64Array(500).fill(0.25),
      Float64Array.from({ length: 501 }, (_, index) => (index % 2) / 4),
    ];
    for (const [index, values] of cases.entries()) {
      const sorted = values.slice().sort();
      for (const rank of [0, 150, 350, values.length - 1]) {
        assert.equal(selectAscending(values.slice(), rank), sorted[rank], `case ${index}`);
      }
    }
  });

  it('orders NaN last as sort does', () => {
    const values = Float64Array.from([0.3, Number.NaN, 0.1, 0.2]);
    assert.equal(selectAscending(values.slice(), 2), 0.3);
    assert.ok(Number.isNaN(selectAscending(values.slice(), 3)));
  });
});

/** Builds a model with fixed counts, so that each probability below can be worked out by hand. */
function fixedModel(
  tokens: SpamModel['tokens'],
  parameters: Partial<SpamModel['parameters']> = {},
): SpamModel {
  return {
    format: 'mailsweep-spam-model',
    tokenizerVersion: model.tokenizerVersion,
    spamMessages: 10,
    hamMessages: 10,
    threshold: 0.9,
    thresholdMethod: 'fixed',
    parameters: {
      unknownWordProbability: 0.5,
      unknownWordStrength: 0.45,
      minimumProbabilityStrength: 0.1,
      maxDiscriminators: 150,
      ...parameters,
    },
    tokens,
  };
}

describe('tokenGroup', () => {
  it('names the prefix of header and feature tokens', () => {
    assert.equal(tokenGroup('subject:free'), 'subject');
    assert.equal(tokenGroup('message-id:shape:9a9'), 'message-id');
    assert.equal(tokenGroup('url:host:example.com'), 'url');
  });

  it('puts words and pairs in the word group', () => {
    assert.equal(tokenGroup('free'), 'word');
    assert.equal(tokenGroup('click here'), 'word');
    assert.equal(tokenGroup('subject:free money'), 'word');
    assert.equal(tokenGroup('Subject:x'), 'word');
  });
});

describe('unknown-word probability by group', () => {
  // One spam hit: f = (0.45·x + 1) / 1.45.
  const tokens: SpamModel['tokens'] = { 'received:host:a.example': [1, 0], free: [1, 0] };

  it('smooths a token towards its group x', () => {
    const grouped = fixedModel(tokens, { unknownWordProbabilityByGroup: { received: 0.1 } });
    const expected = (0.45 * 0.1 + 1) / 1.45;
    const actual = lookupProbability(grouped, hashToken('received:host:a.example'));
    assert.ok(Math.abs(actual - expected) < 1e-6, `received ${actual}`);
  });

  it('keeps the global x for a group not listed', () => {
    const grouped = fixedModel(tokens, { unknownWordProbabilityByGroup: { received: 0.1 } });
    const expected = (0.45 * 0.5 + 1) / 1.45;
    assert.ok(Math.abs(lookupProbability(grouped, hashToken('free')) - expected) < 1e-6);
  });

  it('ignores Object.prototype names as groups', () => {
    const grouped = fixedModel(
      { 'constructor:x': [1, 0] },
      { unknownWordProbabilityByGroup: { received: 0.1 } },
    );
    const expected = (0.45 * 0.5 + 1) / 1.45;
    const actual = lookupProbability(grouped, hashToken('constructor:x'));
    assert.ok(Math.abs(actual - expected) < 1e-6, `constructor ${actual}`);
  });
});

describe('combining methods', () => {
  // Forty strong spam words and twenty strong ham words in one message, enough for both
  // chi-square tests to saturate.
  const spamWords = Array.from({ length: 40 }, (_, index) => `spamword${index}`);
  const hamWords = Array.from({ length: 20 }, (_, index) => `hamword${index}`);
  const tokens: SpamModel['tokens'] = {};
  for (const word of spamWords) {
    tokens[word] = [10, 0];
  }
  for (const word of hamWords) {
    tokens[word] = [0, 10];
  }
  const message = [...spamWords, ...hamWords];

  it('gives conflicting evidence 0.5 with chi-square', () => {
    const score = classifyTokens(fixedModel(tokens), message).score;
    assert.ok(Math.abs(score - 0.5) < 0.01, `chi-square ${score}`);
  });

  it('ranks conflicting evidence by its balance with the geometric mean', () => {
    const geometric = fixedModel(tokens, { combining: 'geometric-mean' });
    const moreSpam = classifyTokens(geometric, message).score;
    const moreHam = classifyTokens(geometric, [...spamWords.slice(0, 3), ...hamWords]).score;
    assert.ok(moreSpam > 0.5, `mostly spam ${moreSpam}`);
    assert.ok(moreHam < 0.5, `mostly ham ${moreHam}`);
  });

  it('scores one-sided evidence near its side with the geometric mean', () => {
    const geometric = fixedModel(tokens, { combining: 'geometric-mean' });
    assert.ok(classifyTokens(geometric, spamWords).score > 0.9);
    assert.ok(classifyTokens(geometric, hamWords).score < 0.1);
  });
});
