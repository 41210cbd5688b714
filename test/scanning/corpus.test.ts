import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CORPUS_GROUPS, loadCorpus } from '../../bench/corpus.js';
import { createTestPipeline } from '../helpers/pipeline.js';

describe('SpamAssassin public corpus', () => {
  it('gives every message a verdict without a crash', async () => {
    const pipeline = await createTestPipeline();
    const corpus = loadCorpus();
    assert.equal(corpus.length, 6046);

    const counts = new Map<string, number>();
    for (const message of corpus) {
      const { verdict } = await pipeline.scan(message.raw);
      assert.ok(verdict.category, `${message.group}/${message.file} has no category`);
      const failed = verdict.findings.filter((finding) => finding.signature === 'engine.failed');
      assert.deepEqual(failed, [], `${message.group}/${message.file}: an engine failed`);
      counts.set(verdict.category, (counts.get(verdict.category) ?? 0) + 1);
    }
    const total = [...counts.values()].reduce((sum, value) => sum + value, 0);
    assert.equal(total, corpus.length);
    assert.deepEqual(CORPUS_GROUPS.length, 5);
  });
});
