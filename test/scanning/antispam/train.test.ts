import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { loadSettings } from '../../../src/config/settings.js';
import {
  chooseThreshold,
  classifyTokens,
  tokenize,
  trainFromFolders,
  type TrainingSample,
  trainSpamModel,
} from '../../../src/scanning/antispam/index.js';
import { textMessage } from './views.js';

const spamTexts = [
  'WIN a FREE cruise now, click here to claim your prize today',
  'Lowest mortgage rates, act now, limited offer, click here',
  'Make money fast from home, guaranteed income, click here now',
];
const hamTexts = [
  'The build failed on the release branch, can you look at the patch',
  'Minutes of the meeting are attached, next review is on Tuesday',
  'I pushed a fix for the parser bug, please review the patch',
];

function samples(spamLabel: boolean): TrainingSample[] {
  return [
    ...spamTexts.map((text) => ({ view: textMessage('offer', text), spam: spamLabel })),
    ...hamTexts.map((text) => ({ view: textMessage('patch', text), spam: !spamLabel })),
  ];
}

describe('trainSpamModel', () => {
  it('learns a verdict that flips with the labels', async () => {
    const probe = tokenize(textMessage('offer', 'click here now for a free prize'));
    const model = await trainSpamModel(samples(true), { threshold: 0.9 });
    const flipped = await trainSpamModel(samples(false), { threshold: 0.9 });
    assert.ok(classifyTokens(model, probe).score >= 0.9);
    assert.ok(classifyTokens(flipped, probe).score < 0.1);
  });

  it('accepts an async iterable', async () => {
    async function* stream(): AsyncGenerator<TrainingSample> {
      yield* samples(true);
    }
    const model = await trainSpamModel(stream(), { threshold: 0.5 });
    assert.equal(model.spamMessages, 3);
    assert.equal(model.hamMessages, 3);
  });

  it('chooses a threshold by cross-validation', async () => {
    const model = await trainSpamModel(samples(true), { folds: 3, minTokenMessages: 1 });
    assert.ok(model.threshold >= 0.5);
    assert.ok(model.threshold <= 0.99);
    assert.match(model.thresholdMethod, /3-fold cross-validation/);
  });

  it('drops tokens seen in fewer messages than the minimum', async () => {
    const model = await trainSpamModel(samples(true), { threshold: 0.9, minTokenMessages: 2 });
    assert.ok(Object.values(model.tokens).every(([spam, ham]) => spam + ham >= 2));
    assert.ok('click' in model.tokens);
    assert.ok(!('cruise' in model.tokens));
  });
});

describe('trainSpamModel group estimates', () => {
  it('stores x for token groups with enough common tokens', async () => {
    // Twelve subject words and twelve body words that every spam carries and no ham does, and
    // the reverse for ham, in twelve messages each.
    const words = (stem: string) =>
      Array.from({ length: 12 }, (_, index) => `${stem}${String.fromCharCode(97 + index)}`);
    const many: TrainingSample[] = [];
    for (let index = 0; index < 12; index += 1) {
      const spam = textMessage(words('offer').join(' '), words('prize').join(' '));
      const ham = textMessage(words('patch').join(' '), words('review').join(' '));
      many.push({ view: spam, spam: true }, { view: ham, spam: false });
    }
    const model = await trainSpamModel(many, { threshold: 0.9 });
    const byGroup = model.parameters.unknownWordProbabilityByGroup ?? {};
    assert.ok(byGroup.subject > 0, `subject x ${byGroup.subject}`);
    assert.ok(byGroup.subject < 1, `subject x ${byGroup.subject}`);
    assert.ok(byGroup.word > 0, `word x ${byGroup.word}`);
    assert.ok(byGroup.word < 1, `word x ${byGroup.word}`);
    assert.equal(model.parameters.combining, 'geometric-mean');
  });

  it('skips the estimate when asked', async () => {
    const model = await trainSpamModel(samples(true), {
      threshold: 0.9,
      estimateGroupUnknownWordProbability: false,
    });
    assert.equal(model.parameters.unknownWordProbabilityByGroup, undefined);
  });
});

describe('chooseThreshold', () => {
  it('returns the lowest grid value that keeps ham below the rate', () => {
    const scores = [
      { score: 0.1, spam: false },
      { score: 0.62, spam: false },
      { score: 0.95, spam: true },
    ];
    assert.equal(chooseThreshold(scores, 0), 0.621);
    assert.equal(chooseThreshold(scores, 0.5), 0.5);
  });
});

describe('trainFromFolders', () => {
  const directories: string[] = [];
  after(async () => {
    await Promise.all(
      directories.map((directory) => rm(directory, { recursive: true, force: true })),
    );
  });

  it('reads message files recursively and skips other files', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mailsweep-train-'));
    directories.push(root);
    await mkdir(join(root, 'spam', 'nested'), { recursive: true });
    await mkdir(join(root, 'ham'));
    const message = (subject: string, text: string) =>
      `From: a@example.org\r\nSubject: ${subject}\r\n\r\n${text}\r\n`;
    await writeFile(join(root, 'spam', 'one.eml'), message('offer', spamTexts[0]));
    await writeFile(join(root, 'spam', 'nested', 'two.txt'), message('offer', spamTexts[1]));
    await writeFile(join(root, 'spam', 'nested', 'two.json'), '{"not": "a message"}');
    await writeFile(join(root, 'ham', '00001'), message('patch', hamTexts[0]));
    await writeFile(join(root, 'ham', '00002.eml'), message('patch', hamTexts[1]));

    const model = await trainFromFolders({
      spam: [join(root, 'spam')],
      ham: [join(root, 'ham')],
      limits: loadSettings({}).limits,
      training: { threshold: 0.9, minTokenMessages: 1 },
    });
    assert.equal(model.spamMessages, 2);
    assert.equal(model.hamMessages, 2);
    assert.deepEqual(model.tokens['subject:offer'], [2, 0]);
    assert.deepEqual(model.tokens['subject:patch'], [0, 2]);
  });
});

describe('trainSpamModel with hostile words', () => {
  it('keeps __proto__ out of the token table', async () => {
    const texts = ['__proto__ constructor toString', '__proto__ hasOwnProperty valueOf'];
    const model = await trainSpamModel(
      texts.map((text, index) => ({ view: textMessage('x', text), spam: index === 0 })),
      { threshold: 0.9, minTokenMessages: 1 },
    );
    assert.equal(Object.getPrototypeOf(model.tokens), Object.prototype);
    assert.ok(!Object.keys(model.tokens).includes('__proto__'));
    assert.deepEqual(model.tokens.constructor, [1, 0]);
  });
});
