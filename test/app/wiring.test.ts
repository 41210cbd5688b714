import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { closeArrivalRuntime } from '../../src/arrival/arrival-runtime.js';
import { unwireServices } from '../../src/app/wiring.js';
import { startLocalHost, type LocalHost } from '../../src/functions-host/local-host.js';
import type { InProcessQueue } from '../../src/queue/in-process-queue.js';
import { SCAN_QUEUE_NAME } from '../../src/queue/jobs.js';
import { getLocalQueue } from '../../src/queue/local-queues.js';
import { silentLogger } from '../../src/shared/logger.js';
import { requireAzuriteConnectionString } from '../quarantine/azurite-test-support.js';

const TOKEN = randomBytes(24).toString('hex');

// The real functions, wired by functions/index.ts, in a host whose settings name no Graph app.
describe('wiring without Graph settings', () => {
  let host: LocalHost;
  let queue: InProcessQueue;

  before(async () => {
    requireAzuriteConnectionString();
    const graphKeys = Object.keys(process.env).filter((key) => key.startsWith('MAILSWEEP_GRAPH_'));
    for (const key of graphKeys) {
      delete process.env[key];
    }
    Object.assign(process.env, {
      MAILSWEEP_AUTH_MODE: 'local-token',
      MAILSWEEP_LOCAL_ADMIN_TOKEN: TOKEN,
      MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT: '1',
      MAILSWEEP_SCAN_WORKERS: '1',
    });
    queue = getLocalQueue(SCAN_QUEUE_NAME, { maxDeliveryCount: 1, retryDelayMs: 10 });
    await import('../../functions/index.js');
    host = await startLocalHost({ port: 0, logger: silentLogger, runTimers: false });
  });

  after(async () => {
    await host.close();
    await closeArrivalRuntime();
    unwireServices();
  });

  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${host.url}/api/${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TOKEN}`, ...init.headers },
    });

  it('answers 503 to adding a mailbox and stores nothing', async () => {
    const address = `nograph-${randomBytes(4).toString('hex')}@contoso.com`;
    const response = await call('mailboxes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address }),
    });
    assert.equal(response.status, 503);
    const body = (await response.json()) as { error: string };
    assert.match(body.error, /^Graph is not configured/);

    const listed = (await (await call('mailboxes')).json()) as { mailboxes: { mailbox: string }[] };
    assert.equal(listed.mailboxes.some((row) => row.mailbox === address), false);
  });

  it('keeps status, verdicts and validation working', async () => {
    assert.equal((await call('status')).status, 200);
    assert.equal((await call('verdicts?mailbox=someone@contoso.com')).status, 200);
    const validation = await fetch(`${host.url}/api/graph/notifications?validationToken=abc`, {
      method: 'POST',
    });
    assert.equal(validation.status, 200);
    assert.equal(await validation.text(), 'abc');
  });

  it('dead-letters a scan job with the reason', async () => {
    await queue.send([
      {
        kind: 'scan-message',
        mailbox: 'someone@contoso.com',
        messageId: 'AAMkAGI2',
        trigger: 'arrival',
        enqueuedAt: new Date().toISOString(),
      },
    ]);
    await queue.whenIdle();

    const deadLetters = queue.deadLetters();
    assert.equal(deadLetters.length, 1);
    assert.match(deadLetters[0]!.reason, /Graph is not configured/);
  });
});
