import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';

import { createClamdClient, type ClamdClient } from '../../../src/scanning/clamd/index.js';
import { ScannerError } from '../../../src/shared/errors.js';
import { EICAR_SIGNATURE, HASH_SAMPLE_SIGNATURE, readTestDaemons } from '../../helpers/daemons.js';
import { measureResources, startTcpServer } from '../../helpers/fake-servers.js';

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const MIB = 1024 * 1024;

function clientFor(port: number, overrides: Partial<Parameters<typeof createClamdClient>[0]> = {}): ClamdClient {
  return createClamdClient({
    host: '127.0.0.1',
    port,
    maxConnections: 4,
    connectTimeoutMs: 1000,
    readTimeoutMs: 300,
    ...overrides,
  });
}

const inFiveSeconds = () => performance.now() + 5000;

/** Asserts that a promise rejects with a transient engine failure of the given kind. */
async function assertFailure(pending: Promise<unknown>, kind: string): Promise<void> {
  await assert.rejects(pending, (error: unknown) => {
    assert.ok(error instanceof ScannerError);
    assert.equal(error.code, 'engine-failed');
    assert.equal(error.transient, true);
    assert.equal(error.fields.kind, kind);
    return true;
  });
}

/** Reads INSTREAM frames from a socket: the command, then length-prefixed chunks to the 0 frame. */
function collectFrames(socket: Socket, onDone: (command: string, chunks: number[], data: Buffer) => void): void {
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    const commandEnd = buffer.indexOf(0);
    if (commandEnd < 0) {
      return;
    }
    const command = buffer.subarray(0, commandEnd).toString('latin1');
    const chunks: number[] = [];
    const parts: Buffer[] = [];
    let offset = commandEnd + 1;
    while (offset + 4 <= buffer.length) {
      const length = buffer.readUInt32BE(offset);
      if (length === 0) {
        onDone(command, chunks, Buffer.concat(parts));
        return;
      }
      if (offset + 4 + length > buffer.length) {
        return;
      }
      chunks.push(length);
      parts.push(buffer.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
  });
}

describe('clamd client against the test clamd', () => {
  const daemons = readTestDaemons();
  const client = clientFor(daemons.clamdPort, { readTimeoutMs: 10_000 });

  it('finds the EICAR string', async () => {
    const result = await client.scan(Buffer.from(EICAR, 'latin1'), inFiveSeconds());
    assert.deepEqual(result, { kind: 'found', signature: EICAR_SIGNATURE });
  });

  it('finds the hash sample by its MD5 signature', async () => {
    const result = await client.scan(daemons.hashSample, inFiveSeconds());
    assert.deepEqual(result, { kind: 'found', signature: HASH_SAMPLE_SIGNATURE });
  });

  it('reports clean bytes as clean', async () => {
    const result = await client.scan(Buffer.from('an ordinary attachment\n'), inFiveSeconds());
    assert.deepEqual(result, { kind: 'clean' });
  });

  it('reports an empty stream as clean', async () => {
    assert.deepEqual(await client.scan(new Uint8Array(0), inFiveSeconds()), { kind: 'clean' });
  });

  it('returns the version', async () => {
    const version = await client.version(inFiveSeconds());
    assert.match(version.version, /^ClamAV \d+\.\d+/);
  });

  it('reads the size-limit reply clamd sends before closing, or fails closed', async () => {
    // 200 MB passes the test clamd's 25 MiB StreamMaxLength: clamd replies and closes mid-stream.
    // clamd closes with our unread chunks in its buffer, so the kernel resets the connection, and
    // a write that fails first destroys the socket before its reply is read. That race is why the
    // engine checks MAILSWEEP_CLAMD_STREAM_MAX_BYTES before streaming; here either outcome is
    // right as long as it is never clean.
    const huge = new Uint8Array(200 * MIB);
    try {
      const result = await client.scan(huge, performance.now() + 30_000);
      assert.deepEqual(result, { kind: 'size-limit' });
    } catch (error) {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'engine-failed');
      assert.equal(error.fields.kind, 'unavailable');
    }
  });

  it('scans 20 objects at once through a pool of 4', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        client.scan(Buffer.from(index % 2 === 0 ? EICAR : 'clean text', 'latin1'), inFiveSeconds()),
      ),
    );
    const found = results.filter((result) => result.kind === 'found').length;
    assert.equal(found, 10);
    assert.equal(client.activeConnections, 0);
  });
});

describe('clamd client framing', () => {
  it('sends 4-byte big-endian lengths and a zero-length terminator', async () => {
    let received: { command: string; chunks: number[]; data: Buffer } | undefined;
    const server = await startTcpServer((socket) =>
      collectFrames(socket, (command, chunks, data) => {
        received = { command, chunks, data };
        socket.end('stream: OK\0');
      }),
    );
    try {
      const payload = Buffer.alloc(200_000);
      for (let index = 0; index < payload.length; index++) {
        payload[index] = index % 251;
      }
      const result = await clientFor(server.port).scan(payload, inFiveSeconds());
      assert.deepEqual(result, { kind: 'clean' });
      assert.equal(received?.command, 'zINSTREAM');
      assert.deepEqual(received?.chunks, [65_536, 65_536, 65_536, 3_392]);
      assert.ok(received?.data.equals(payload));
    } finally {
      await server.close();
    }
  });

  it('keeps each scan on its own connection, at most maxConnections at once', async () => {
    // Counted from the server's side between the request's arrival and the reply, because a
    // socket's close event can reach the server after the client has opened the next one.
    let open = 0;
    let maxOpen = 0;
    const server = await startTcpServer((socket) => {
      open += 1;
      maxOpen = Math.max(maxOpen, open);
      collectFrames(socket, () =>
        setTimeout(() => {
          open -= 1;
          socket.end('stream: OK\0');
        }, 20),
      );
    });
    try {
      const client = clientFor(server.port, { maxConnections: 3 });
      await Promise.all(Array.from({ length: 12 }, () => client.scan(Buffer.from('x'), inFiveSeconds())));
      assert.equal(server.connections, 12);
      assert.equal(maxOpen, 3);
    } finally {
      await server.close();
    }
  });
});

describe('clamd client faults', () => {
  it('times out on a clamd that accepts and stays silent', async () => {
    const server = await startTcpServer((socket) => socket.resume());
    try {
      await assertFailure(clientFor(server.port).scan(Buffer.from('x'), inFiveSeconds()), 'timeout');
    } finally {
      await server.close();
    }
  });

  it('fails when clamd dies mid-stream', async () => {
    let bytes = 0;
    const server = await startTcpServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > 100_000) {
          socket.resetAndDestroy();
        }
      });
    });
    try {
      const pending = clientFor(server.port).scan(new Uint8Array(5 * MIB), inFiveSeconds());
      await assertFailure(pending, 'unavailable');
    } finally {
      await server.close();
    }
  });

  it('fails when nothing listens on the port', async () => {
    const server = await startTcpServer((socket) => socket.resume());
    const { port } = server;
    await server.close();
    await assertFailure(clientFor(port).scan(Buffer.from('x'), inFiveSeconds()), 'unavailable');
  });

  it('rejects a reply that is not clamd protocol', async () => {
    const server = await startTcpServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n\0'));
    try {
      await assertFailure(clientFor(server.port).scan(Buffer.from('x'), inFiveSeconds()), 'bad-response');
    } finally {
      await server.close();
    }
  });

  it('rejects an endless reply without a terminator', async () => {
    const server = await startTcpServer((socket) => socket.write(Buffer.alloc(64 * 1024, 0x41)));
    try {
      await assertFailure(clientFor(server.port).scan(Buffer.from('x'), inFiveSeconds()), 'bad-response');
    } finally {
      await server.close();
    }
  });

  it('fails when the connection closes without a reply', async () => {
    const server = await startTcpServer((socket) => socket.end());
    try {
      await assertFailure(clientFor(server.port).scan(Buffer.from('x'), inFiveSeconds()), 'unavailable');
    } finally {
      await server.close();
    }
  });

  it('stops at the scan deadline even with a long read timeout', async () => {
    const server = await startTcpServer((socket) => socket.resume());
    try {
      const client = clientFor(server.port, { readTimeoutMs: 60_000 });
      await assertFailure(client.scan(Buffer.from('x'), performance.now() + 200), 'timeout');
    } finally {
      await server.close();
    }
  });

  it('leaks no socket or heap after 10,000 failures', async () => {
    const server = await startTcpServer((socket) => socket.resetAndDestroy());
    const silent = await startTcpServer((socket) => socket.resume());
    try {
      const client = clientFor(server.port);
      const timingOut = clientFor(silent.port, { readTimeoutMs: 1 });
      const runFailures = async (count: number) => {
        for (let index = 0; index < count; index += 50) {
          await Promise.all(
            Array.from({ length: 50 }, (_, offset) =>
              (offset % 10 === 0 ? timingOut : client)
                .scan(Buffer.from('x'), inFiveSeconds())
                .then(
                  () => assert.fail('expected a failure'),
                  (error: unknown) => assert.ok(error instanceof ScannerError),
                ),
            ),
          );
        }
      };
      await runFailures(500);
      const before = await measureResources();
      await runFailures(10_000);
      const afterRun = await measureResources();
      assert.ok(
        afterRun.tcpHandles <= before.tcpHandles,
        `TCP handles grew from ${before.tcpHandles} to ${afterRun.tcpHandles}`,
      );
      const growthMb = (afterRun.heapBytes - before.heapBytes) / MIB;
      assert.ok(growthMb < 8, `heap grew by ${growthMb.toFixed(1)} MB`);
      assert.equal(client.activeConnections, 0);
    } finally {
      await server.close();
      await silent.close();
    }
  });
});

