import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { describeHealth } from '../../src/health/health.js';

describe('describeHealth', () => {
  it('lists the engines of a valid configuration', async () => {
    const report = await describeHealth({});
    assert.equal(report.status, 'ok');
    assert.deepEqual(
      report.engines.map((engine) => engine.stage),
      ['antivirus', 'antispam', 'antiphishing'],
    );
  });

  it('reports a bad setting by key without its value', async () => {
    const report = await describeHealth({ MAILSWEEP_MAX_MIME_DEPTH: 'zero-depth' });
    assert.equal(report.status, 'failed');
    assert.match(report.error ?? '', /MAILSWEEP_MAX_MIME_DEPTH/);
    assert.doesNotMatch(report.error ?? '', /zero-depth/);
    assert.deepEqual(report.engines, []);
  });
});
