import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createDeadline } from '../../../src/scanning/deadline.js';
import { shouldRetry } from '../../../src/scanning/engines.js';
import { createPipeline } from '../../../src/scanning/pipeline.js';
import {
  createRspamdEngine,
  findConnectingClient,
  toCheckContext,
} from '../../../src/scanning/rspamd/index.js';
import type { MessageView } from '../../../src/scanning/types.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { daemonSettings, readTestDaemons } from '../../helpers/daemons.js';
import { measureResources, readBody, startHttpServer } from '../../helpers/fake-servers.js';
import { testSettings } from '../../helpers/pipeline.js';

const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

function message(body: string, extraHeaders = ''): Uint8Array {
  return Buffer.from(
    'Received: from mail.example.net (mail.example.net [40.107.21.70]) by mx.contoso.com; ' +
      'Wed, 4 Dec 2024 10:00:00 +0000\r\n' +
      'Return-Path: <sender@example.net>\r\n' +
      `${extraHeaders}From: Sender <sender@example.net>\r\nTo: user@contoso.com\r\n` +
      'Subject: quarterly figures\r\nMessage-ID: <1@example.net>\r\n' +
      'Date: Wed, 4 Dec 2024 10:00:00 +0000\r\n\r\n' +
      `${body}\r\n`,
  );
}

/** A pipeline with rspamd as the only antispam engine and the embedded antivirus. */
function rspamdPipeline(overrides: Record<string, string>) {
  const settings = testSettings({ MAILSWEEP_ENGINES_ANTISPAM: 'rspamd', ...overrides });
  const engine = createRspamdEngine({ settings: settings.rspamd, failurePolicy: settings.engines.failure });
  return createPipeline({ limits: settings.limits, actions: settings.actions, engines: [engine], logger: silentLogger });
}

describe('rspamd engine against the test rspamd', () => {
  const { rspamdUrl } = readTestDaemons();

  it('turns GTUBE into a spam verdict with rspamd named', async () => {
    const { verdict } = await rspamdPipeline({ MAILSWEEP_RSPAMD_URL: rspamdUrl }).scan(message(GTUBE));
    assert.equal(verdict.category, 'spam');
    const action = verdict.findings.find((finding) => finding.signature === 'rspamd.reject');
    assert.equal(action?.engine, 'rspamd');
    assert.equal(action?.stage, 'antispam');
  });

  it('leaves an ordinary message clean', async () => {
    const raw = message('Please find the quarterly figures below. Regards, Sam');
    const { verdict } = await rspamdPipeline({ MAILSWEEP_RSPAMD_URL: rspamdUrl }).scan(raw, {
      mailbox: 'user@contoso.com',
    });
    assert.equal(verdict.category, 'clean');
    assert.deepEqual(verdict.findings, []);
  });

  it('reports rspamd version through probe', async () => {
    const settings = daemonSettings();
    const engine = createRspamdEngine({ settings: settings.rspamd, failurePolicy: 'retry' });
    const version = await engine.probe(3000);
    assert.match(version.version, /^rspamd\/\d+/);
  });
});

describe('rspamd request', () => {
  it('sends the message with From, Rcpt, IP, Helo and Deliver-To', async () => {
    let seen: { headers: Record<string, string | string[] | undefined>; body: Buffer } | undefined;
    const server = await startHttpServer((request, response) => {
      void readBody(request).then((body) => {
        seen = { headers: request.headers, body };
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ score: 0, required_score: 15, action: 'no action', symbols: {} }));
      });
    });
    try {
      const raw = message('hello');
      const { verdict } = await rspamdPipeline({ MAILSWEEP_RSPAMD_URL: server.url }).scan(raw, {
        mailbox: 'user@contoso.com',
      });
      assert.equal(verdict.category, 'clean');
      assert.ok(seen?.body.equals(Buffer.from(raw)));
      assert.equal(seen?.headers.from, 'sender@example.net');
      assert.equal(seen?.headers.rcpt, 'user@contoso.com');
      assert.equal(seen?.headers.ip, '40.107.21.70');
      assert.equal(seen?.headers.helo, 'mail.example.net');
      assert.equal(seen?.headers['deliver-to'], 'user@contoso.com');
    } finally {
      await server.close();
    }
  });

  it('maps a spam action and positive symbols to findings', async () => {
    const reply = {
      score: 9.5,
      required_score: 15,
      action: 'add header',
      symbols: {
        BAYES_SPAM: { name: 'BAYES_SPAM', score: 5.1, description: 'Message probably spam' },
        MISSING_MID: { name: 'MISSING_MID', score: 2.5 },
        MIME_GOOD: { name: 'MIME_GOOD', score: -0.1 },
      },
    };
    const server = await startHttpServer((request, response) => {
      request.resume();
      response.end(JSON.stringify(reply));
    });
    try {
      const { verdict } = await rspamdPipeline({ MAILSWEEP_RSPAMD_URL: server.url }).scan(message('x'));
      assert.equal(verdict.category, 'spam');
      assert.deepEqual(
        verdict.findings.map((finding) => [finding.signature, finding.score]),
        [
          ['rspamd.add-header', 9.5],
          ['rspamd.BAYES_SPAM', 5.1],
          ['rspamd.MISSING_MID', 2.5],
        ],
      );
    } finally {
      await server.close();
    }
  });
});

describe('rspamd engine faults', () => {
  const cases: { name: string; respond: (response: import('node:http').ServerResponse) => void; signature: string }[] = [
    { name: 'HTTP 500', respond: (response) => response.writeHead(500).end('oops'), signature: 'engine.unavailable' },
    { name: 'invalid JSON', respond: (response) => response.end('{"score": 1,'), signature: 'engine.bad-response' },
    {
      name: 'JSON of another shape',
      respond: (response) => response.end(JSON.stringify({ score: 'high', action: 'maybe' })),
      signature: 'engine.bad-response',
    },
    {
      name: 'soft reject',
      respond: (response) => response.end(JSON.stringify({ score: 0, required_score: 15, action: 'soft reject' })),
      signature: 'engine.deferred',
    },
    { name: 'silence', respond: () => undefined, signature: 'engine.timeout' },
  ];

  for (const { name, respond, signature } of cases) {
    it(`marks ${name} unscannable and transient, never clean`, async () => {
      const server = await startHttpServer((request, response) => {
        request.resume();
        respond(response);
      });
      try {
        const pipeline = rspamdPipeline({ MAILSWEEP_RSPAMD_URL: server.url, MAILSWEEP_RSPAMD_TIMEOUT_MS: '300' });
        const { verdict } = await pipeline.scan(message('x'));
        assert.equal(verdict.category, 'unscannable');
        assert.equal(verdict.findings[0]?.signature, signature);
        assert.equal(verdict.findings[0]?.transient, true);
        assert.equal(shouldRetry(verdict), true);
      } finally {
        await server.close();
      }
    });
  }

  it('marks a failure unscannable without retry under the unscannable policy', async () => {
    const server = await startHttpServer((request, response) => {
      request.resume();
      response.writeHead(500).end();
    });
    try {
      const pipeline = rspamdPipeline({ MAILSWEEP_RSPAMD_URL: server.url, MAILSWEEP_ENGINE_FAILURE: 'unscannable' });
      const { verdict } = await pipeline.scan(message('x'));
      assert.equal(verdict.category, 'unscannable');
      assert.equal(verdict.findings[0]?.transient, undefined);
      assert.equal(shouldRetry(verdict), false);
    } finally {
      await server.close();
    }
  });

  it('does not send a message over the size limit', async () => {
    const server = await startHttpServer((request, response) => response.end());
    try {
      const pipeline = rspamdPipeline({ MAILSWEEP_RSPAMD_URL: server.url, MAILSWEEP_RSPAMD_MAX_MESSAGE_BYTES: '100' });
      const { verdict } = await pipeline.scan(message('x'.repeat(200)));
      assert.equal(verdict.category, 'unscannable');
      assert.equal(verdict.findings[0]?.signature, 'rspamd.max-message-size');
      assert.equal(server.connections, 0);
    } finally {
      await server.close();
    }
  });

  it('leaks no socket or heap after 10,000 HTTP 500 replies', async () => {
    const server = await startHttpServer((request, response) => {
      request.resume();
      response.writeHead(500).end();
    });
    try {
      const settings = testSettings({ MAILSWEEP_ENGINES_ANTISPAM: 'rspamd', MAILSWEEP_RSPAMD_URL: server.url });
      const engine = createRspamdEngine({ settings: settings.rspamd, failurePolicy: 'retry' });
      const view = { raw: message('x'), headers: [], context: {} } as unknown as MessageView;
      const runFailures = async (count: number) => {
        for (let index = 0; index < count; index += 50) {
          const results = await Promise.all(
            Array.from({ length: 50 }, () => engine.scan(view, createDeadline(5000))),
          );
          for (const result of results) {
            assert.equal(result.findings[0]?.signature, 'engine.unavailable');
          }
        }
      };
      await runFailures(500);
      const before = await measureResources();
      await runFailures(10_000);
      const afterRun = await measureResources();
      // Node's fetch keeps idle connections for reuse, up to one per concurrent request.
      assert.ok(afterRun.tcpHandles <= before.tcpHandles + 100, `TCP handles ${before.tcpHandles} -> ${afterRun.tcpHandles}`);
      const growthMb = (afterRun.heapBytes - before.heapBytes) / (1024 * 1024);
      assert.ok(growthMb < 16, `heap grew by ${growthMb.toFixed(1)} MB`);
    } finally {
      await server.close();
    }
  });
});

describe('findConnectingClient', () => {
  it('prefers Received-SPF client-ip and helo', () => {
    const client = findConnectingClient([
      { key: 'received', value: 'from a.example (a.example [8.8.4.4]) by b' },
      {
        key: 'received-spf',
        value: 'Pass (protection.outlook.com: domain of example.net designates 40.107.21.70 as permitted sender) receiver=protection.outlook.com; client-ip=40.107.21.70; helo=EUR05.outbound.protection.outlook.com;',
      },
    ]);
    assert.deepEqual(client, { ip: '40.107.21.70', helo: 'EUR05.outbound.protection.outlook.com' });
  });

  it('skips private hops and takes the first public one', () => {
    const client = findConnectingClient([
      { key: 'received', value: 'from relay.contoso.local (relay.contoso.local [10.0.0.5]) by mx' },
      { key: 'received', value: 'from mail.example.net (mail.example.net [40.107.21.70]) by relay' },
    ]);
    assert.deepEqual(client, { ip: '40.107.21.70', helo: 'mail.example.net' });
  });

  it('reads an IPv6 address literal', () => {
    const client = findConnectingClient([{ key: 'received', value: 'from [IPv6:2a00:1450:4001:80b::2005] by mx' }]);
    assert.deepEqual(client, { ip: '2a00:1450:4001:80b::2005' });
  });

  it('returns nothing for forged or private values', () => {
    const client = findConnectingClient([
      { key: 'received', value: 'from x (x [999.1.1.1]) by y' },
      { key: 'received', value: 'from y (y [127.0.0.1]) by z' },
      { key: 'received-spf', value: 'client-ip=192.168.1.1; helo=evil' },
    ]);
    assert.deepEqual(client, {});
  });
});

describe('toCheckContext', () => {
  it('drops header values with line breaks or non-ASCII', () => {
    const context = toCheckContext({
      headers: [{ key: 'from', value: 'Mallory <évil@example.net>' }],
      context: {},
    });
    assert.equal(context.from, undefined);
  });
});
