import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadSettings, pickSettingsEnvironment } from '../../src/config/settings.js';
import { createScanPool } from '../../src/scanning/scan-pool.js';
import { buildSamples } from '../../src/samples/samples.js';
import { shouldRetry } from '../../src/scanning/engines.js';
import { silentLogger } from '../../src/shared/logger.js';
import { EICAR_SIGNATURE, readTestDaemons } from '../helpers/daemons.js';
import { BASE_HEADERS, crlf, partCountBomb, toBytes } from '../fixtures/hostile-mail.js';

async function createPool(env: Record<string, string>, graceMs?: number) {
  const settings = loadSettings(env);
  return createScanPool({ settings, env: pickSettingsEnvironment(env), size: 1, logger: silentLogger, graceMs });
}

describe('createScanPool', () => {
  it('runs the engines the settings choose, clamd included', async () => {
    const daemons = readTestDaemons();
    const pool = await createPool({
      MAILSWEEP_ENGINES_ANTIVIRUS: 'clamd',
      MAILSWEEP_CLAMD_HOST: daemons.clamdHost,
      MAILSWEEP_CLAMD_PORT: String(daemons.clamdPort),
    });
    try {
      const samples = await buildSamples();
      const sample = samples.find((candidate) => candidate.expected.category === 'malware');
      assert.ok(sample);
      const result = await pool.scan(sample.raw);
      assert.equal(result.verdict.category, 'malware');
      assert.ok(result.verdict.findings.some((finding) => finding.signature === EICAR_SIGNATURE));
    } finally {
      await pool.close();
    }
  });

  it('marks a scan for retry when the chosen clamd is down', async () => {
    const pool = await createPool({
      MAILSWEEP_ENGINES_ANTIVIRUS: 'embedded,clamd',
      MAILSWEEP_CLAMD_HOST: '127.0.0.1',
      // Port 1 on loopback refuses connections: nothing listens there.
      MAILSWEEP_CLAMD_PORT: '1',
    });
    try {
      const result = await pool.scan(toBytes(crlf([...BASE_HEADERS, 'Subject: hello', '', 'hello'])));
      assert.equal(result.verdict.category, 'unscannable');
      assert.equal(shouldRetry(result.verdict), true);
    } finally {
      await pool.close();
    }
  });

  it('scans a message in a worker', async () => {
    const pool = await createPool({});
    try {
      const result = await pool.scan(toBytes(crlf([...BASE_HEADERS, 'Subject: hello', '', 'hello'])));
      assert.ok(result.verdict.findings.every((finding) => finding.engine !== 'scan-pool'));
      assert.equal(result.summary.sender, 'sender@fabrikam.example');
      assert.equal(result.summary.subject, 'hello');
    } finally {
      await pool.close();
    }
  });

  it('terminates a worker past the time limit and goes on', async () => {
    // One postal-mime parse of two million parts takes seconds and cannot be interrupted from inside.
    const pool = await createPool(
      {
        MAILSWEEP_SCAN_TIMEOUT_MS: '1',
        MAILSWEEP_MAX_MIME_PARTS: '3000000',
        MAILSWEEP_MAX_HEADER_BYTES: '1000000000',
      },
      500,
    );
    try {
      const slow = await pool.scan(toBytes(partCountBomb(2_000_000)));
      assert.equal(slow.verdict.category, 'unscannable');
      assert.deepEqual(slow.verdict.findings.map((finding) => [finding.engine, finding.signature]), [
        ['scan-pool', 'limit.scan-timeout'],
      ]);
      const next = await pool.scan(toBytes(crlf([...BASE_HEADERS, 'Subject: next', '', 'next'])));
      assert.ok(next.verdict.findings.every((finding) => finding.engine !== 'scan-pool'));
    } finally {
      await pool.close();
    }
  });

  it('contains a worker that runs out of heap', async () => {
    const pool = await createPool({
      MAILSWEEP_WORKER_MAX_HEAP_MB: '160',
      MAILSWEEP_MAX_MESSAGE_BYTES: '400000000',
    });
    try {
      // A 200 MB text body becomes JavaScript strings several times its size, far over 160 MB.
      const body = 'word '.repeat(40 * 1024 * 1024);
      const result = await pool.scan(toBytes(crlf([...BASE_HEADERS, 'Subject: big', '', body])));
      assert.equal(result.verdict.category, 'unscannable');
      const signatures = result.verdict.findings.map((finding) => finding.signature);
      assert.ok(signatures.includes('limit.memory') || signatures.includes('scan.failed'), signatures.join(','));
      const next = await pool.scan(toBytes(crlf([...BASE_HEADERS, 'Subject: after', '', 'after'])));
      assert.equal(next.verdict.findings.some((finding) => finding.engine === 'scan-pool'), false);
    } finally {
      await pool.close();
    }
  });

  it('rejects start-up with an invalid model path', async () => {
    await assert.rejects(createPool({ MAILSWEEP_SPAM_MODEL_PATH: '/nonexistent/model.json' }), /failed to start/);
  });

  it('names the heap setting when a worker cannot start in it', async () => {
    // Below the settings' minimum, which a caller's own settings object can still pass.
    const settings = { ...loadSettings({}), workers: { count: 1, maxHeapMb: 30 } };
    await assert.rejects(
      createScanPool({ settings, env: {}, size: 1, logger: silentLogger }),
      /ran out of its 30 MiB heap during start-up; raise MAILSWEEP_WORKER_MAX_HEAP_MB/,
    );
  });
});
