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

  it('applies the documented default of an unset setting', () => {
    assert.equal(resolveSchedule('%MAILSWEEP_DIGEST_CRON%', {}), '0 */15 * * * *');
    assert.equal(resolveSchedule('%MAILSWEEP_DIGEST_CRON%', { MAILSWEEP_DIGEST_CRON: '' }), '0 */15 * * * *');
  });

  it('returns undefined for an unset setting without a default', () => {
    assert.equal(resolveSchedule('%OTHER_CRON%', {}), undefined);
    assert.equal(resolveSchedule('%MAILSWEEP_UI_BASE_URL%', {}), undefined);
  });
});
