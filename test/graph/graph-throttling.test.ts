import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ScannerError } from '../../src/shared/errors.js';
import { readAll, sampleMime, startGraphFixture, type GraphFixture } from './graph-test-support.js';

describe('GraphClient throttling and retries', () => {
  let fixture: GraphFixture;

  before(async () => {
    fixture = await startGraphFixture();
  });
  after(async () => {
    await fixture.close();
  });

  it('keeps peak concurrency at 4 under 30 parallel downloads', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('burst@contoso.com');
    const messages = Array.from({ length: 30 }, (_, index) =>
      sim.deliverMessage(mailbox.mail, { mime: sampleMime(index, 10_000) }),
    );
    sim.faults.latencyMs = 25;
    try {
      const sizes = await Promise.all(
        messages.map(
          async (message) =>
            (await readAll((await client.getMime(mailbox.mail, message.id)).stream)).length,
        ),
      );
      assert.deepEqual(
        sizes,
        messages.map((message) => message.mime.length),
      );
    } finally {
      sim.faults.latencyMs = 0;
    }
    const stats = sim.stats(mailbox.mail);
    assert.equal(stats.requests, 30);
    assert.ok(stats.peakConcurrency <= 4, `peak concurrency ${stats.peakConcurrency}`);
    assert.ok(stats.peakConcurrency >= 2, 'downloads did not overlap at all');
    assert.equal(stats.throttled, 0);
  });

  it('recovers when a client over the limit meets MailboxConcurrency 429s', async () => {
    const over = await startGraphFixture({}, { limits: { maxConcurrentPerMailbox: 8 } });
    try {
      const mailbox = over.sim.addMailbox('over@contoso.com');
      const ids = Array.from(
        { length: 16 },
        (_, index) => over.sim.deliverMessage(mailbox.mail, { mime: sampleMime(index) }).id,
      );
      over.sim.faults.latencyMs = 25;
      const refs = await Promise.all(ids.map((id) => over.client.getMessage(mailbox.mail, id)));
      assert.equal(refs.length, 16);
      const rejected = over.sim.requestLog.filter((entry) => entry.status === 429);
      assert.ok(rejected.length > 0, 'the simulator admitted more than 4 at once');
    } finally {
      await over.close();
    }
  });

  it('backs off and succeeds after 429s without Retry-After', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('no-retry-after@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    sim.addFault({ mailbox: mailbox.mail, status: 429, code: 'ApplicationThrottled', times: 3 });
    const ref = await client.getMessage(mailbox.mail, message.id);
    assert.equal(ref.id, message.id);
    const statuses = sim.requestLog
      .filter((entry) => entry.mailboxId === mailbox.id)
      .map((entry) => entry.status);
    assert.deepEqual(statuses, [429, 429, 429, 200]);
  });

  it('waits at least the Retry-After of a 429', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('retry-after@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    sim.addFault({
      mailbox: mailbox.mail,
      status: 429,
      code: 'ApplicationThrottled',
      retryAfter: '1',
    });
    await client.getMessage(mailbox.mail, message.id);
    const log = sim.requestLog.filter((entry) => entry.mailboxId === mailbox.id);
    assert.equal(log.length, 2);
    assert.ok(log[1]!.receivedAt - log[0]!.receivedAt >= 1000, 'retried before Retry-After');
  });

  it('gives up with mailbox-throttled when the tries run out', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('exhausted@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    sim.addFault({ mailbox: mailbox.mail, status: 429, code: 'ApplicationThrottled', times: 50 });
    await assert.rejects(client.getMessage(mailbox.mail, message.id), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'mailbox-throttled');
      assert.equal(error.transient, true);
      return true;
    });
    assert.equal(sim.requestLog.filter((entry) => entry.mailboxId === mailbox.id).length, 6);
  });

  it('gives up at once on a Retry-After beyond the limit', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('long-retry-after@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    sim.addFault({
      mailbox: mailbox.mail,
      status: 429,
      code: 'ApplicationThrottled',
      retryAfter: '3600',
    });
    await assert.rejects(client.getMessage(mailbox.mail, message.id), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'mailbox-throttled');
      assert.equal(error.fields.retryAfterMs, 3_600_000);
      return true;
    });
    assert.equal(sim.requestLog.filter((entry) => entry.mailboxId === mailbox.id).length, 1);
  });

  it('accepts Retry-After as an HTTP date', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('retry-date@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    const soon = new Date(Date.now() + 1000).toUTCString();
    sim.addFault({
      mailbox: mailbox.mail,
      status: 503,
      code: 'ServiceUnavailable',
      retryAfter: soon,
    });
    assert.equal((await client.getMessage(mailbox.mail, message.id)).id, message.id);
  });

  it('retries 503 and then reports mailbox-unavailable', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('unavailable@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    sim.addFault({ mailbox: mailbox.mail, status: 503, code: 'ServiceUnavailable', times: 2 });
    assert.equal((await client.getMessage(mailbox.mail, message.id)).id, message.id);
    sim.addFault({ mailbox: mailbox.mail, status: 503, code: 'ServiceUnavailable', times: 50 });
    await assert.rejects(client.getMessage(mailbox.mail, message.id), {
      code: 'mailbox-unavailable',
    });
  });

  it('retries a connection closed without an answer', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('reset@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    sim.addFault({ mailbox: mailbox.mail, status: 0, times: 2 });
    assert.equal((await client.getMessage(mailbox.mail, message.id)).id, message.id);
  });

  it('does not retry a permanent error', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('forbidden@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    sim.addFault({ mailbox: mailbox.mail, status: 403, code: 'ErrorAccessDenied' });
    await assert.rejects(client.getMessage(mailbox.mail, message.id), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'mailbox-request-failed');
      assert.equal(error.transient, false);
      assert.equal(error.fields.graphCode, 'ErrorAccessDenied');
      return true;
    });
    assert.equal(sim.requestLog.filter((entry) => entry.mailboxId === mailbox.id).length, 1);
  });

  it('completes every call at a 5% random 429 rate', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('random-429@contoso.com');
    const ids = Array.from(
      { length: 100 },
      (_, index) => sim.deliverMessage(mailbox.mail, { mime: sampleMime(index) }).id,
    );
    sim.faults.throttleRate = 0.05;
    try {
      const refs = await Promise.all(ids.map((id) => client.getMessage(mailbox.mail, id)));
      assert.deepEqual(
        refs.map((ref) => ref.id),
        ids,
      );
    } finally {
      sim.faults.throttleRate = 0;
    }
    assert.ok(sim.stats(mailbox.mail).throttled > 0, 'no request was throttled');
  });

  it('stays within the request budget per window', async () => {
    // The client stamps a request when it starts and the simulator when it arrives, so the
    // client's window is 50 ms longer, and a first request fetches the token before the count.
    const budget = await startGraphFixture(
      { faults: { requestsPerWindow: 5, windowMs: 1000 } },
      { limits: { requestsPerWindow: 5, windowMs: 1050 } },
    );
    try {
      const mailbox = budget.sim.addMailbox('budget@contoso.com');
      const message = budget.sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
      await budget.client.listSubscriptions();
      for (let index = 0; index < 12; index += 1) {
        await budget.client.getMessage(mailbox.mail, message.id);
      }
      assert.equal(budget.sim.stats(mailbox.mail).throttled, 0);
      assert.equal(budget.sim.stats(mailbox.mail).requests, 12);
    } finally {
      await budget.close();
    }
  });

  it('reports a rejected client secret as a permanent failure', async () => {
    const { sim } = fixture;
    const { GraphClient } = await import('../../src/graph/graph-client.js');
    const { ClientSecretCredential } = await import('@azure/identity');
    const credential = new ClientSecretCredential(sim.tenantId, sim.clientId, 'wrong-secret', {
      authorityHost: sim.authorityHost,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: sim.certificate },
    });
    const client = new GraphClient({
      credential,
      baseUrl: sim.baseUrl,
      ca: sim.certificate,
      retry: { baseDelayMs: 5 },
    });
    try {
      await assert.rejects(client.listSubscriptions(), (error: unknown) => {
        assert.ok(error instanceof ScannerError);
        assert.equal(error.code, 'mailbox-request-failed');
        assert.equal(error.transient, false);
        return true;
      });
    } finally {
      client.close();
    }
  });
});
