import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  classifyMessage,
  classifyTokens,
  tokenize,
  trainSpamModel,
} from '../../../src/scanning/antispam/index.js';
import { hashPair, hashToken, lookupProbability } from '../../../src/scanning/antispam/classifier.js';
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
