import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  computeRetryDelay,
  DEFAULT_RETRY_OPTIONS,
  isRetryableStatus,
  parseRetryAfter,
} from '../../src/graph/retry-policy.js';

describe('parseRetryAfter', () => {
  it('reads delay seconds', () => {
    assert.equal(parseRetryAfter('30'), 30_000);
    assert.equal(parseRetryAfter(' 0 '), 0);
  });

  it('reads an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now), 10_000);
  });

  it('reads a past HTTP date as no wait', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  });

  it('ignores missing and invalid values', () => {
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter('-5'), undefined);
    assert.equal(parseRetryAfter('1.5'), undefined);
  });
});

describe('computeRetryDelay', () => {
  const options = { ...DEFAULT_RETRY_OPTIONS, baseDelayMs: 1000, maxDelayMs: 8000 };

  it('doubles the backoff ceiling per try', () => {
    assert.equal(
      computeRetryDelay(1, undefined, options, () => 1),
      1000,
    );
    assert.equal(
      computeRetryDelay(2, undefined, options, () => 1),
      2000,
    );
    assert.equal(
      computeRetryDelay(3, undefined, options, () => 1),
      4000,
    );
  });

  it('keeps the jitter within the upper half of the ceiling', () => {
    assert.equal(
      computeRetryDelay(3, undefined, options, () => 0),
      2000,
    );
  });

  it('caps the backoff at maxDelayMs', () => {
    assert.equal(
      computeRetryDelay(10, undefined, options, () => 1),
      8000,
    );
  });

  it('never waits less than Retry-After', () => {
    assert.equal(
      computeRetryDelay(1, 30_000, options, () => 1),
      30_000,
    );
  });

  it('backs off past a tiny Retry-After', () => {
    assert.equal(
      computeRetryDelay(4, 1000, options, () => 1),
      8000,
    );
  });
});

describe('isRetryableStatus', () => {
  it('retries throttling and transient server errors only', () => {
    for (const status of [429, 500, 502, 503, 504]) {
      assert.equal(isRetryableStatus(status), true, String(status));
    }
    for (const status of [400, 401, 403, 404, 409, 410, 501]) {
      assert.equal(isRetryableStatus(status), false, String(status));
    }
  });
});
