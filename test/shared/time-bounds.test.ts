import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { verdictsQuerySchema } from '../../src/arrival/verdicts-api.js';
import { listFilterSchema, listQuerySchema } from '../../src/quarantine/quarantine-access.js';
import { fromBoundSchema, toBoundSchema } from '../../src/shared/time-bounds.js';

describe('time bounds', () => {
  it('reads a date alone as a whole UTC day', () => {
    assert.equal(fromBoundSchema.parse('2027-01-01'), '2027-01-01T00:00:00.000Z');
    assert.equal(toBoundSchema.parse('2027-01-01'), '2027-01-01T23:59:59.999Z');
  });

  it('keeps a date-time with a time zone', () => {
    assert.equal(fromBoundSchema.parse('2027-01-01T08:30:00+01:00'), '2027-01-01T08:30:00+01:00');
    assert.equal(toBoundSchema.parse('2027-01-01T08:30:00.5Z'), '2027-01-01T08:30:00.5Z');
  });

  it('rejects invalid bounds', () => {
    for (const value of ['yesterday', '2027-13-01', '2027-02-30', '2027-01-01T08:30:00', '20270101', '']) {
      assert.equal(fromBoundSchema.safeParse(value).success, false, value);
      assert.equal(toBoundSchema.safeParse(value).success, false, value);
    }
  });

  it('names both forms in its error', () => {
    for (const schema of [fromBoundSchema, toBoundSchema]) {
      const result = schema.safeParse('2027-13-01');
      assert.equal(result.success, false);
      const messages = result.error?.issues.map((issue) => issue.message) ?? [];
      assert.ok(messages.length > 0);
      for (const message of messages) {
        assert.match(message, /2027-01-01T08:00:00Z/);
        assert.match(message, /or a date alone, such as 2027-01-01/);
      }
    }
  });

  it('applies to list, bulk filter and verdict queries', () => {
    const bounds = { from: '2027-01-01', to: '2027-01-31' };
    const expected = { from: '2027-01-01T00:00:00.000Z', to: '2027-01-31T23:59:59.999Z' };
    const listed = listQuerySchema.parse(bounds);
    const filtered = listFilterSchema.parse(bounds);
    const verdicts = verdictsQuerySchema.parse(bounds);
    assert.deepEqual({ from: listed.from, to: listed.to }, expected);
    assert.deepEqual({ from: filtered.from, to: filtered.to }, expected);
    assert.deepEqual({ from: verdicts.from, to: verdicts.to }, expected);
  });
});
