import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { describeHealth } from '../../src/health/health.js';
import { readTestDaemons } from '../helpers/daemons.js';
import { startTcpServer } from '../helpers/fake-servers.js';

describe('describeHealth', () => {
  it('lists the engines of a valid configuration', async () => {
    const report = await describeHealth({});
    assert.equal(report.status, 'ok');
    assert.deepEqual(
      report.engines.map((engine) => engine.stage),
      ['antivirus', 'antispam', 'antiphishing'],
    );
  });

  it('reports a bad setting by key without its value', async () => {
    const report = await describeHealth({ MAILSWEEP_MAX_MIME_DEPTH: 'zero-depth' });
    assert.equal(report.status, 'failed');
    assert.match(report.error ?? '', /MAILSWEEP_MAX_MIME_DEPTH/);
    assert.doesNotMatch(report.error ?? '', /zero-depth/);
    assert.deepEqual(report.engines, []);
  });
});

describe('describeHealth with daemon engines', () => {
  it('reports clamd and rspamd versions when both answer', async () => {
    const daemons = readTestDaemons();
    const report = await describeHealth({
      MAILSWEEP_ENGINES_ANTIVIRUS: 'embedded,clamd',
      MAILSWEEP_CLAMD_HOST: daemons.clamdHost,
      MAILSWEEP_CLAMD_PORT: String(daemons.clamdPort),
      MAILSWEEP_ENGINES_ANTISPAM: 'rspamd',
      MAILSWEEP_RSPAMD_URL: daemons.rspamdUrl,
    });
    assert.equal(report.status, 'ok');
    const clamd = report.engines.find((engine) => engine.name === 'clamd');
    assert.equal(clamd?.status, 'ok');
    assert.match(clamd?.version ?? '', /^ClamAV /);
    const rspamd = report.engines.find((engine) => engine.name === 'rspamd');
    assert.match(rspamd?.version ?? '', /^rspamd\//);
  });

  it('fails when clamd does not answer', async () => {
    const server = await startTcpServer(() => undefined);
    const { port } = server;
    await server.close();
    const report = await describeHealth({
      MAILSWEEP_ENGINES_ANTIVIRUS: 'clamd',
      MAILSWEEP_CLAMD_HOST: '127.0.0.1',
      MAILSWEEP_CLAMD_PORT: String(port),
    });
    assert.equal(report.status, 'failed');
    const clamd = report.engines.find((engine) => engine.name === 'clamd');
    assert.equal(clamd?.status, 'failed');
    assert.match(clamd?.error ?? '', /clamd/);
  });
});
