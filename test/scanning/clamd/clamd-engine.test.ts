import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createClamdEngine } from '../../../src/scanning/clamd/index.js';
import { createDeadline } from '../../../src/scanning/deadline.js';
import { createEngines, shouldRetry } from '../../../src/scanning/engines.js';
import { createPipeline } from '../../../src/scanning/pipeline.js';
import type { MessageView } from '../../../src/scanning/types.js';
import { buildSamples, EICAR } from '../../../src/samples/samples.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { daemonSettings, EICAR_SIGNATURE, HASH_SAMPLE_SIGNATURE, readTestDaemons } from '../../helpers/daemons.js';
import { startTcpServer } from '../../helpers/fake-servers.js';

const MIB = 1024 * 1024;

function withAttachment(content: Uint8Array, filename: string): Uint8Array {
  const base64 = Buffer.from(content).toString('base64').replace(/(.{76})/g, '$1\r\n');
  return Buffer.from(
    'From: sender@example.net\r\nTo: user@contoso.com\r\nSubject: report\r\nMIME-Version: 1.0\r\n' +
      'Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n' +
      `--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=${filename}\r\n` +
      `Content-Transfer-Encoding: base64\r\n\r\n${base64}\r\n--b1--\r\n`,
  );
}

function withUuencode(content: string): Uint8Array {
  const line = (bytes: Buffer) => {
    let out = String.fromCharCode(32 + bytes.length);
    for (let index = 0; index < bytes.length; index += 3) {
      const [a = 0, b = 0, c = 0] = bytes.subarray(index, index + 3);
      const quad = [a >> 2, ((a & 3) << 4) | (b >> 4), ((b & 15) << 2) | (c >> 6), c & 63];
      out += quad.map((value) => String.fromCharCode(value === 0 ? 96 : value + 32)).join('');
    }
    return out;
  };
  const bytes = Buffer.from(content, 'latin1');
  const lines: string[] = [];
  for (let index = 0; index < bytes.length; index += 45) {
    lines.push(line(bytes.subarray(index, index + 45)));
  }
  return Buffer.from(
    'From: sender@example.net\r\nTo: user@contoso.com\r\nSubject: old style\r\n\r\nsee below\r\n\r\n' +
      `begin 644 tool.com\r\n${lines.join('\r\n')}\r\n\`\r\nend\r\n`,
  );
}

async function pipelineFor(overrides: Record<string, string>) {
  const settings = daemonSettings({ MAILSWEEP_ENGINES_ANTISPAM: 'embedded', ...overrides });
  return createPipeline({
    limits: settings.limits,
    actions: settings.actions,
    engines: (await createEngines(settings)).filter((engine) => engine.name === 'clamd'),
    logger: silentLogger,
  });
}

for (const mode of ['parts', 'message'] as const) {
  describe(`clamd engine in ${mode} mode`, () => {
    it('finds EICAR in a base64 attachment', async () => {
      const pipeline = await pipelineFor({ MAILSWEEP_CLAMD_SCAN: mode });
      const { verdict } = await pipeline.scan(withAttachment(Buffer.from(EICAR, 'latin1'), 'a.bin'));
      assert.equal(verdict.category, 'malware');
      const finding = verdict.findings.find((item) => item.engine === 'clamd');
      assert.equal(finding?.signature, EICAR_SIGNATURE);
      assert.equal(finding?.mimePath, mode === 'parts' ? '2' : '');
    });

    it('finds the hash sample only as a whole attachment', async () => {
      const pipeline = await pipelineFor({ MAILSWEEP_CLAMD_SCAN: mode });
      const { verdict } = await pipeline.scan(withAttachment(readTestDaemons().hashSample, 's.bin'));
      assert.equal(verdict.findings.find((item) => item.engine === 'clamd')?.signature, HASH_SAMPLE_SIGNATURE);
    });

    it('passes a clean message', async () => {
      const pipeline = await pipelineFor({ MAILSWEEP_CLAMD_SCAN: mode });
      const { verdict } = await pipeline.scan(withAttachment(Buffer.from('quarterly figures'), 'q.txt'));
      assert.equal(verdict.category, 'clean');
    });
  });
}

describe('clamd engine modes compared', () => {
  it('finds EICAR in uuencode in both modes, naming the part only in parts mode', async () => {
    const raw = withUuencode(EICAR);
    const parts = await (await pipelineFor({ MAILSWEEP_CLAMD_SCAN: 'parts' })).scan(raw);
    const partFinding = parts.verdict.findings.find((item) => item.engine === 'clamd');
    assert.equal(partFinding?.signature, EICAR_SIGNATURE);
    assert.match(partFinding?.mimePath ?? '', /#uu1$/);
    // clamd 1.4's own mail parser decodes uuencode too, but reports the message as a whole.
    const whole = await (await pipelineFor({ MAILSWEEP_CLAMD_SCAN: 'message' })).scan(raw);
    const wholeFinding = whole.verdict.findings.find((item) => item.engine === 'clamd');
    assert.equal(wholeFinding?.signature, EICAR_SIGNATURE);
    assert.equal(wholeFinding?.mimePath, '');
  });

  it('counts StreamMaxLength per part in parts mode and per message in message mode', async () => {
    // The base64 attachment makes the raw message about 4/3 of the attachment's size.
    const raw = withAttachment(new Uint8Array(300_000), 'zeros.bin');
    const limit = { MAILSWEEP_CLAMD_STREAM_MAX_BYTES: '350000' };
    const parts = await (await pipelineFor({ ...limit, MAILSWEEP_CLAMD_SCAN: 'parts' })).scan(raw);
    assert.equal(parts.verdict.category, 'clean');
    const whole = await (await pipelineFor({ ...limit, MAILSWEEP_CLAMD_SCAN: 'message' })).scan(raw);
    assert.equal(whole.verdict.findings[0]?.signature, 'clamd.stream-max-length');
  });

  it('finds EICAR in the demo sample of a zip in a forwarded message, in both modes', async () => {
    const sample = (await buildSamples()).find((item) => /eicar/i.test(item.file));
    assert.ok(sample, 'the samples include the EICAR message');
    for (const mode of ['parts', 'message']) {
      const { verdict } = await (await pipelineFor({ MAILSWEEP_CLAMD_SCAN: mode })).scan(sample.raw);
      const finding = verdict.findings.find((item) => item.engine === 'clamd');
      assert.equal(finding?.signature, EICAR_SIGNATURE, `mode ${mode}`);
    }
  });
});

describe('clamd engine size limits', () => {
  const view = (content: Uint8Array): MessageView =>
    ({
      raw: new Uint8Array(10),
      context: {},
      headers: [],
      subject: '',
      bodies: [],
      parts: [{ path: '2', contentType: 'application/octet-stream', content, origin: 'mime', depth: 0 }],
      nestedMessages: [],
      complete: true,
    }) as MessageView;

  it('reports a 200 MB attachment as over StreamMaxLength without sending it', async () => {
    const settings = daemonSettings();
    const server = await startTcpServer((socket) => socket.resume());
    try {
      const engine = createClamdEngine({
        settings: { ...settings.clamd, host: '127.0.0.1', port: server.port },
        failurePolicy: 'retry',
      });
      const result = await engine.scan(view(new Uint8Array(200 * MIB)), createDeadline(10_000));
      assert.deepEqual(
        result.findings.map((finding) => [finding.signature, finding.category, finding.mimePath]),
        [['clamd.stream-max-length', 'unscannable', '2']],
      );
      assert.equal(server.connections, 0);
      assert.equal(shouldRetry({ category: 'unscannable', findings: result.findings }), false);
    } finally {
      await server.close();
    }
  });

  it('reports the size limit clamd itself replies with', async () => {
    // Configured above the daemon's real limit, so the 200 MB part is streamed and clamd stops it.
    const settings = daemonSettings({ MAILSWEEP_CLAMD_STREAM_MAX_BYTES: String(400 * MIB) });
    const engine = createClamdEngine({ settings: settings.clamd, failurePolicy: 'retry' });
    const result = await engine.scan(view(new Uint8Array(200 * MIB)), createDeadline(30_000));
    // The reply can be lost to the connection reset that follows it (see clamd-client.test.ts);
    // then the finding is a transient failure, still never clean.
    const signature = result.findings[0]?.signature;
    assert.ok(signature === 'clamd.stream-max-length' || signature === 'engine.unavailable', signature);
    assert.equal(result.findings[0]?.category, 'unscannable');
  });
});

describe('clamd engine failures', () => {
  it('makes a message unscannable and transient when clamd is down', async () => {
    const server = await startTcpServer(() => undefined);
    const { port } = server;
    await server.close();
    const pipeline = await pipelineFor({ MAILSWEEP_CLAMD_PORT: String(port) });
    const { verdict } = await pipeline.scan(withAttachment(Buffer.from('hello'), 'h.txt'));
    assert.equal(verdict.category, 'unscannable');
    assert.equal(verdict.findings[0]?.signature, 'engine.unavailable');
    assert.equal(shouldRetry(verdict), true);
  });

  it('keeps malware found before clamd fails', async () => {
    let connections = 0;
    const server = await startTcpServer((socket) => {
      connections += 1;
      if (connections === 1) {
        socket.resume();
        socket.once('data', () => socket.end('stream: Win.Test.Sample FOUND\0'));
      } else {
        socket.resetAndDestroy();
      }
    });
    try {
      const pipeline = await pipelineFor({ MAILSWEEP_CLAMD_PORT: String(server.port) });
      const { verdict } = await pipeline.scan(withAttachment(Buffer.from('hello'), 'h.txt'));
      assert.equal(verdict.category, 'malware');
      assert.equal(shouldRetry(verdict), false);
    } finally {
      await server.close();
    }
  });
});
