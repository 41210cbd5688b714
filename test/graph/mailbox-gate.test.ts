import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { MailboxGate } from '../../src/graph/mailbox-gate.js';
import { ScannerError } from '../../src/shared/errors.js';

const LIMITS = {
  maxConcurrentPerMailbox: 4,
  requestsPerWindow: 10_000,
  windowMs: 600_000,
  maxBudgetWaitMs: 1000,
};

describe('MailboxGate', () => {
  it('admits four at once per mailbox and queues the fifth', async () => {
    const gate = new MailboxGate(LIMITS);
    const releases = await Promise.all([1, 2, 3, 4].map(() => gate.acquire('a@contoso.com')));
    let fifthAdmitted = false;
    const fifth = gate.acquire('A@contoso.com').then((release) => {
      fifthAdmitted = true;
      return release;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fifthAdmitted, false);
    assert.equal(gate.activeRequests('a@contoso.com'), 4);
    releases[0]!();
    const release = await fifth;
    assert.equal(gate.activeRequests('a@contoso.com'), 4);
    release();
    for (const other of releases.slice(1)) {
      other();
    }
    assert.equal(gate.activeRequests('a@contoso.com'), 0);
  });

  it('keeps mailboxes apart', async () => {
    const gate = new MailboxGate(LIMITS);
    await Promise.all([1, 2, 3, 4].map(() => gate.acquire('a@contoso.com')));
    const other = await gate.acquire('b@contoso.com');
    assert.equal(gate.activeRequests('b@contoso.com'), 1);
    other();
  });

  it('counts a double release once', async () => {
    const gate = new MailboxGate(LIMITS);
    const first = await gate.acquire('a@contoso.com');
    const second = await gate.acquire('a@contoso.com');
    first();
    first();
    assert.equal(gate.activeRequests('a@contoso.com'), 1);
    second();
  });

  it('rejects when the budget frees up too late', async () => {
    const gate = new MailboxGate({ ...LIMITS, requestsPerWindow: 2, windowMs: 60_000 });
    (await gate.acquire('a@contoso.com'))();
    (await gate.acquire('a@contoso.com'))();
    await assert.rejects(gate.acquire('a@contoso.com'), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'mailbox-throttled');
      assert.ok(Number(error.fields.retryAfterMs) > 1000);
      return true;
    });
    assert.equal(gate.activeRequests('a@contoso.com'), 0);
  });
});
