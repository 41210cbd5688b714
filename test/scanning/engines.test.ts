import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import { createEmbeddedEngines, createEngines, shouldRetry } from '../../src/scanning/engines.js';
import type { Finding } from '../../src/scanning/types.js';
import { testSettings } from '../helpers/pipeline.js';

const names = async (overrides: Record<string, string>) =>
  (await createEngines(testSettings(overrides))).map((engine) => `${engine.stage}:${engine.name}`);

describe('createEngines', () => {
  it('builds the embedded engines by default', async () => {
    assert.deepEqual(await names({}), ['antivirus:embedded-av', 'antispam:embedded-spam', 'antiphishing:embedded-phish']);
  });

  it('adds clamd beside the embedded antivirus and puts rspamd instead of the classifier', async () => {
    const engines = await names({
      MAILSWEEP_ENGINES_ANTIVIRUS: 'embedded,clamd',
      MAILSWEEP_CLAMD_HOST: '127.0.0.1',
      MAILSWEEP_ENGINES_ANTISPAM: 'rspamd',
      MAILSWEEP_RSPAMD_URL: 'http://127.0.0.1:11333',
    });
    assert.deepEqual(engines, ['antivirus:embedded-av', 'antivirus:clamd', 'antispam:rspamd', 'antiphishing:embedded-phish']);
  });
});

describe('shouldRetry', () => {
  const finding = (overrides: Partial<Finding>): Finding => ({
    stage: 'antivirus',
    engine: 'clamd',
    category: 'unscannable',
    signature: 'engine.unavailable',
    reason: 'down',
    mimePath: '',
    ...overrides,
  });

  it('retries when every unscannable finding is transient', () => {
    assert.equal(shouldRetry({ category: 'unscannable', findings: [finding({ transient: true })] }), true);
  });

  it('does not retry when a lasting limit also made the message unscannable', () => {
    const findings = [finding({ transient: true }), finding({ signature: 'limit.mime-depth', engine: 'mime' })];
    assert.equal(shouldRetry({ category: 'unscannable', findings }), false);
  });

  it('does not retry a malware verdict', () => {
    const findings = [finding({ transient: true }), finding({ category: 'malware', signature: 'Eicar' })];
    assert.equal(shouldRetry({ category: 'malware', findings }), false);
  });
});

describe('createEmbeddedEngines spam model errors', () => {
  it('names the key and path of a missing model', async () => {
    await assert.rejects(
      createEmbeddedEngines(testSettings({ MAILSWEEP_SPAM_MODEL_PATH: '/nonexistent/model.json' })),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /^MAILSWEEP_SPAM_MODEL_PATH: \/nonexistent\/model\.json was not found/);
        return true;
      },
    );
  });

  it('says a file that is not a model is invalid', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'mailsweep-model-'));
    try {
      const file = path.join(folder, 'model.json');
      await writeFile(file, '{"tokens": 3}');
      await assert.rejects(
        createEmbeddedEngines(testSettings({ MAILSWEEP_SPAM_MODEL_PATH: file })),
        (error: unknown) => {
          assert.ok(error instanceof Error);
          assert.equal(
            error.message.split('; ')[0],
            `MAILSWEEP_SPAM_MODEL_PATH: ${file} is not a valid spam model`,
          );
          return true;
        },
      );
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
