import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { runMailboxScan, toSince } from '../../src/cli/mailbox-scan-command.js';
import { main } from '../../src/cli/main.js';
import { GTUBE } from '../../src/samples/samples.js';
import { startEwsSimulator, type EwsSimulator } from '../ews-simulator/ews-simulator.js';
import { startGraphSimulator, type GraphSimulator } from '../graph-simulator/graph-simulator.js';
import { requireAzuriteConnectionString } from '../quarantine/azurite-test-support.js';
import { plainMessage } from '../scans/scan-test-support.js';

describe('mailsweep scan --mailbox', () => {
  let graph: GraphSimulator;
  let ews: EwsSimulator;
  let env: Record<string, string | undefined>;
  let ca: string;

  before(async () => {
    graph = await startGraphSimulator();
    ews = await startEwsSimulator({ accounts: [{ user: 'svc', password: 'Secret-Pass-42', impersonate: 'all' }] });
    ca = `${graph.certificate}\n${ews.ca}`;
    env = {
      MAILSWEEP_STATE_CONNECTION_STRING: requireAzuriteConnectionString(),
      MAILSWEEP_QUARANTINE_CONNECTION_STRING: requireAzuriteConnectionString(),
      MAILSWEEP_QUARANTINE_CONTAINER: 'cli-mailbox-scan',
      MAILSWEEP_GRAPH_TENANT_ID: graph.tenantId,
      MAILSWEEP_GRAPH_CLIENT_ID: graph.clientId,
      MAILSWEEP_GRAPH_CLIENT_SECRET: graph.clientSecret,
      MAILSWEEP_GRAPH_BASE_URL: graph.baseUrl,
      MAILSWEEP_GRAPH_AUTHORITY_HOST: graph.authorityHost,
      MAILSWEEP_EWS_USERNAME: 'svc',
      MAILSWEEP_EWS_PASSWORD: 'Secret-Pass-42',
      MAILSWEEP_EWS_AUTH: 'basic',
      MAILSWEEP_SCAN_WORKERS: '1',
    };
  });

  after(async () => {
    await graph.close();
    await ews.close();
  });

  it('scans a Graph mailbox in report mode', async () => {
    graph.addMailbox('cli@contoso.com');
    graph.deliverMessage('cli@contoso.com', { mime: plainMessage('cli-1', 'Hi.'), receivedAt: new Date(Date.now() - 60_000) });
    graph.deliverMessage('cli@contoso.com', { mime: plainMessage('cli-2', `Buy ${GTUBE}`), receivedAt: new Date(Date.now() - 120_000) });
    const report = path.join(await mkdtemp(path.join(tmpdir(), 'mailsweep-cli-')), 'report.jsonl');

    const { summary, items } = await runMailboxScan(
      { mailbox: ['cli@contoso.com'], since: '7d', mode: 'report', report },
      { env, stderr: new PassThrough(), ca },
    );

    assert.equal(summary.status, 'done');
    assert.equal(summary.messages.scanned, 2);
    assert.equal(summary.findings.spam, 1);
    assert.equal(items.length, 2);
    const lines = (await readFile(report, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 2);
    assert.equal(graph.mailbox('cli@contoso.com').messages.size, 2);
  });

  it('scans an EWS mailbox named with --ews and acts', async () => {
    ews.addMailbox('cli@onprem.contoso.com');
    const spam = ews.deliverMessage('cli@onprem.contoso.com', {
      mime: plainMessage('cli-3', `Buy ${GTUBE}`),
      receivedAt: new Date(Date.now() - 60_000),
    });

    const { summary } = await runMailboxScan(
      { mailbox: ['cli@onprem.contoso.com'], since: '1d', ews: ews.url, mode: 'act' },
      { env, stderr: new PassThrough(), ca },
    );

    assert.equal(summary.messages.scanned, 1);
    assert.equal(ews.mailbox('cli@onprem.contoso.com').items.has(spam.id), false);
  });

  it('fails clearly without Graph or EWS settings', async () => {
    await assert.rejects(
      runMailboxScan(
        { mailbox: ['a@contoso.com'], since: '7d', mode: 'report' },
        { env: { MAILSWEEP_STATE_CONNECTION_STRING: requireAzuriteConnectionString() }, stderr: new PassThrough() },
      ),
      /Neither Graph nor EWS is configured/,
    );
  });

  it('reads --since as days, hours or a time', () => {
    const now = new Date('2026-12-04T12:00:00Z');
    assert.equal(toSince('7d', now).toISOString(), '2026-11-27T12:00:00.000Z');
    assert.equal(toSince('12h', now).toISOString(), '2026-12-04T00:00:00.000Z');
    assert.equal(toSince('2026-12-01T00:00:00Z', now).toISOString(), '2026-12-01T00:00:00.000Z');
    assert.throws(() => toSince('last week', now), /--since last week is invalid/);
  });

  it('rejects files and --mailbox together', async () => {
    const stderr = process.stderr.write;
    process.stderr.write = () => true;
    try {
      const code = await main(['scan', 'x.eml', '--mailbox', 'a@contoso.com'], { stdout: new PassThrough() });
      assert.equal(code, 2);
    } finally {
      process.stderr.write = stderr;
    }
  });
});
