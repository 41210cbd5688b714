import assert from 'node:assert/strict';
import { describe, it, before } from 'node:test';

import { buildSamples, type Sample } from '../../src/samples/samples.js';
import type { Pipeline } from '../../src/scanning/pipeline.js';
import { createTestPipeline } from '../helpers/pipeline.js';

describe('generated samples', () => {
  let pipeline: Pipeline;
  let samples: Sample[];

  before(async () => {
    pipeline = await createTestPipeline();
    samples = await buildSamples();
  });

  it('covers every detection the demo shows', () => {
    const files = samples.map((sample) => sample.file);
    assert.equal(files.length, 8);
    assert.equal(new Set(files).size, files.length);
  });

  it('gives each sample its expected verdict', async () => {
    for (const sample of samples) {
      const { verdict } = await pipeline.scan(sample.raw);
      const signatures = verdict.findings.map((finding) => finding.signature);
      assert.equal(verdict.category, sample.expected.category, `${sample.file}: ${signatures.join(', ')}`);
      if (sample.expected.signature) {
        assert.ok(signatures.includes(sample.expected.signature), `${sample.file}: ${signatures.join(', ')}`);
      }
    }
  });

  it('builds the same bytes on every run', async () => {
    const again = await buildSamples();
    for (const [index, sample] of samples.entries()) {
      assert.ok(sample.raw.equals(again[index]?.raw ?? Buffer.alloc(0)), sample.file);
    }
  });
});
