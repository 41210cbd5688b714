import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { EwsClient } from '../../src/ews/ews-client.js';
import { ScannerError } from '../../src/shared/errors.js';
import { silentLogger, type LogFields } from '../../src/shared/logger.js';
import type { EwsSimulator } from '../ews-simulator/ews-simulator.js';
import {
  clientFor,
  collect,
  sampleMime,
  SERVICE_PASSWORD,
  SERVICE_USER,
  startSimulator,
} from './ews-test-support.js';

const MAILBOX = 'faults@contoso.com';

function assertScannerError(code: string, ewsCode?: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof ScannerError, `expected ScannerError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (ewsCode !== undefined) {
      assert.equal(error.fields.ewsCode, ewsCode);
    }
    return true;
  };
}

describe('EwsClient faults', () => {
  let simulator: EwsSimulator;
  let itemId: string;

  before(async () => {
    simulator = await startSimulator({
      accounts: [
        { user: SERVICE_USER, password: SERVICE_PASSWORD, impersonate: 'all' },
        { user: 'limited', password: 'Limited-Pass-1', impersonate: ['other@contoso.com'] },
      ],
    });
    simulator.addMailbox(MAILBOX);
    simulator.addMailbox('other@contoso.com');
    itemId = simulator.deliverMessage(MAILBOX, { mime: sampleMime('fault target') }).id;
  });
  after(async () => {
    await simulator.close();
  });

  it('waits for BackOffMilliseconds on ErrorServerBusy', async () => {
    simulator.faults.backOffMs = 120;
    simulator.faults.scripted.push('busy');
    const retries: LogFields[] = [];
    const logger = {
      ...silentLogger,
      debug: (_message: string, fields?: LogFields) => retries.push(fields ?? {}),
    };
    const client = clientFor(simulator, {
      logger,
      retry: { maxTries: 3, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 5_000 },
    });
    const ref = await client.getMessage(MAILBOX, itemId);
    client.close();
    assert.equal(ref.id, itemId);
    assert.equal(retries.length, 1);
    // The wait is the server's BackOffMilliseconds, not the client's 1 ms backoff step.
    assert.ok(Number(retries[0]?.delayMs) >= 120, `delay ${String(retries[0]?.delayMs)} ms`);
  });

  it('backs off when ErrorServerBusy has no BackOffMilliseconds', async () => {
    simulator.faults.scripted.push('busy-no-backoff', 'busy-no-backoff');
    const client = clientFor(simulator);
    const ref = await client.getMessage(MAILBOX, itemId);
    client.close();
    assert.equal(ref.id, itemId);
    const busy = simulator.requestLog.filter((entry) => entry.fault === 'busy-no-backoff');
    assert.equal(busy.length, 2);
  });

  it('ends as mailbox-throttled when busy outlasts the tries', async () => {
    simulator.faults.backOffMs = 1;
    simulator.faults.scripted.push('busy', 'busy', 'busy', 'busy');
    const client = clientFor(simulator);
    await assert.rejects(
      client.getMessage(MAILBOX, itemId),
      assertScannerError('mailbox-throttled', 'ErrorServerBusy'),
    );
    client.close();
    simulator.faults.backOffMs = 50;
  });

  it('gives up at once on a BackOffMilliseconds over the limit', async () => {
    simulator.faults.backOffMs = 600_000;
    simulator.faults.scripted.push('busy');
    const client = clientFor(simulator);
    await assert.rejects(client.getMessage(MAILBOX, itemId), (error: unknown) => {
      assertScannerError('mailbox-throttled')(error);
      assert.equal((error as ScannerError).fields.retryAfterMs, 600_000);
      return true;
    });
    client.close();
    simulator.faults.backOffMs = 50;
  });

  it('never exceeds the concurrency limit', async () => {
    const address = 'busy@contoso.com';
    simulator.addMailbox(address);
    const ids = Array.from(
      { length: 60 },
      (_, index) => simulator.deliverMessage(address, { mime: sampleMime(`p${index}`) }).id,
    );
    simulator.peakConcurrency = 0;
    simulator.faults.latencyMs = 15;
    simulator.faults.maxConcurrency = 4;
    const client = clientFor(simulator, { maxConcurrency: 4 });
    const refs = await Promise.all(ids.map((id) => client.getMessage(address, id)));
    client.close();
    simulator.faults.latencyMs = 0;
    simulator.faults.maxConcurrency = Number.POSITIVE_INFINITY;
    assert.equal(refs.length, 60);
    assert.ok(simulator.peakConcurrency <= 4, `peak ${simulator.peakConcurrency}`);
    assert.equal(simulator.peakConcurrency, 4, 'the limit is used in full');
    const refused = simulator.requestLog.filter((entry) => entry.fault === 'concurrency');
    assert.equal(refused.length, 0);
  });

  it('retries an HTML answer, then reports it', async () => {
    simulator.faults.scripted.push('html');
    const client = clientFor(simulator);
    assert.equal((await client.getMessage(MAILBOX, itemId)).id, itemId);
    simulator.faults.scripted.push('html', 'html', 'html', 'html');
    await assert.rejects(
      client.getMessage(MAILBOX, itemId),
      assertScannerError('mailbox-unavailable'),
    );
    client.close();
  });

  it('retries a truncated SOAP body, then reports it', async () => {
    simulator.faults.scripted.push('truncated');
    const client = clientFor(simulator);
    assert.equal((await client.getMessage(MAILBOX, itemId)).id, itemId);
    simulator.faults.scripted.push('truncated', 'truncated', 'truncated', 'truncated');
    await assert.rejects(
      client.getMime(MAILBOX, itemId),
      assertScannerError('mailbox-unavailable'),
    );
    client.close();
  });

  it('retries HTTP 500 without a SOAP fault', async () => {
    simulator.faults.scripted.push('http-500');
    const client = clientFor(simulator);
    assert.equal((await client.getMessage(MAILBOX, itemId)).id, itemId);
    client.close();
  });

  it('reports an unknown mailbox', async () => {
    const client = clientFor(simulator);
    await assert.rejects(
      collect(client.listMessages('nobody@contoso.com', { folder: { wellKnown: 'inbox' } })),
      (error: unknown) => {
        assertScannerError('mailbox-request-failed', 'ErrorNonExistentMailbox')(error);
        assert.equal((error as ScannerError).transient, false);
        return true;
      },
    );
    client.close();
  });

  it('reports impersonation denied', async () => {
    const client = new EwsClient({
      url: simulator.url,
      ca: simulator.ca,
      auth: { kind: 'basic', username: 'limited', password: 'Limited-Pass-1' },
    });
    await assert.rejects(
      client.getMessage(MAILBOX, itemId),
      assertScannerError('mailbox-request-failed', 'ErrorImpersonateUserDenied'),
    );
    const other = simulator.deliverMessage('other@contoso.com', { mime: sampleMime('allowed') });
    assert.equal((await client.getMessage('other@contoso.com', other.id)).id, other.id);
    client.close();
  });

  it('completes the NTLM handshake', async () => {
    simulator.requestLog.length = 0;
    const challenges = simulator.ntlmChallenges;
    const client = clientFor(simulator, { authKind: 'ntlm' });
    const ref = await client.getMessage(MAILBOX, itemId);
    client.close();
    assert.equal(ref.id, itemId);
    assert.equal(simulator.ntlmChallenges, challenges + 1);
    assert.equal(simulator.requestLog[0]?.auth, 'ntlm');
    assert.equal(simulator.requestLog[0]?.user, SERVICE_USER);
  });

  it('rejects a wrong NTLM password', async () => {
    const client = new EwsClient({
      url: simulator.url,
      ca: simulator.ca,
      auth: { kind: 'ntlm', username: SERVICE_USER, password: 'wrong-password', domain: 'CONTOSO' },
    });
    await assert.rejects(
      client.getMessage(MAILBOX, itemId),
      assertScannerError('mailbox-request-failed'),
    );
    client.close();
  });

  it('rejects a wrong Basic password without retrying', async () => {
    simulator.requestLog.length = 0;
    const client = new EwsClient({
      url: simulator.url,
      ca: simulator.ca,
      auth: { kind: 'basic', username: SERVICE_USER, password: 'wrong-password' },
    });
    await assert.rejects(
      client.getMessage(MAILBOX, itemId),
      assertScannerError('mailbox-request-failed'),
    );
    client.close();
  });

  it('sends an OAuth bearer token', async () => {
    const scopes: string[] = [];
    const client = new EwsClient({
      url: simulator.url,
      ca: simulator.ca,
      auth: {
        kind: 'oauth',
        credential: {
          getToken: async (scope) => {
            scopes.push(String(scope));
            return { token: 'not-a-real-token', expiresOnTimestamp: Date.now() + 60_000 };
          },
        },
      },
    });
    // The simulator offers Basic and NTLM only, so a bearer token is refused with 401.
    await assert.rejects(
      client.getMessage(MAILBOX, itemId),
      assertScannerError('mailbox-request-failed'),
    );
    client.close();
    assert.deepEqual(scopes, [`${new URL(simulator.url).origin}/.default`]);
  });

  it('refuses an http EWS URL', () => {
    assert.throws(
      () =>
        new EwsClient({
          url: 'http://127.0.0.1:1/EWS/Exchange.asmx',
          auth: { kind: 'basic', username: 'a', password: 'b' },
        }),
      assertScannerError('config-invalid'),
    );
  });

  it('survives random faults without losing items', async () => {
    const address = 'random@contoso.com';
    simulator.addMailbox(address);
    for (let index = 0; index < 300; index += 1) {
      simulator.deliverMessage(address, {
        mime: sampleMime(`r${index}`),
        receivedAt: new Date(Date.parse('2026-07-01T00:00:00Z') + index * 1000),
      });
    }
    simulator.faults.serverBusyRate = 0.1;
    simulator.faults.backOffMs = 2;
    simulator.faults.htmlRate = 0.05;
    simulator.faults.truncatedRate = 0.05;
    const client = clientFor(simulator, {
      retry: { maxTries: 12, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 1000 },
    });
    const listed = await collect(
      client.listMessages(address, { receivedAfter: new Date('2026-06-30T00:00:00Z') }),
    );
    client.close();
    simulator.faults.serverBusyRate = 0;
    simulator.faults.htmlRate = 0;
    simulator.faults.truncatedRate = 0;
    simulator.faults.backOffMs = 50;
    assert.equal(new Set(listed.map((item) => item.id)).size, 300);
    assert.equal(listed.length, 300);
  });
});
