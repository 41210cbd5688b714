import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { resolveSchedule } from '../../src/functions-host/local-host.js';

describe('resolveSchedule', () => {
  it('returns a literal schedule unchanged', () => {
    assert.equal(resolveSchedule('0 17 3 * * *', {}), '0 17 3 * * *');
  });

  it('reads a %NAME% schedule from the environment', () => {
    assert.equal(resolveSchedule('%MAILSWEEP_DIGEST_CRON%', { MAILSWEEP_DIGEST_CRON: ' 0 */5 * * * * ' }), '0 */5 * * * *');
  });

  it('returns undefined for an unset setting', () => {
    assert.equal(resolveSchedule('%MAILSWEEP_DIGEST_CRON%', {}), undefined);
    assert.equal(resolveSchedule('%MAILSWEEP_DIGEST_CRON%', { MAILSWEEP_DIGEST_CRON: '' }), undefined);
  });
});
