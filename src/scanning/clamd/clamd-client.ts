import { connect, type Socket } from 'node:net';

import pLimit from 'p-limit';

import { engineFailure } from '../daemon-engine.js';
import {
  type ClamdScanResult,
  type ClamdVersion,
  parseScanReply,
  parseVersionReply,
} from './clamd-reply.js';

const ENGINE_NAME = 'clamd';

/**
 * Bytes per INSTREAM chunk. clamd accepts any chunk up to StreamMaxLength; 64 KiB keeps each
 * write small enough that an early error reply is read between writes.
 */
const CHUNK_BYTES = 64 * 1024;

/** Longest reply read from clamd. Real replies are one line; more means a broken or hostile peer. */
const MAX_REPLY_BYTES = 4096;

/** Address and limits of a {@link ClamdClient}. */
export interface ClamdClientOptions {
  host: string;
  /** TCP port; clamd's default is 3310. */
  port: number;
  /** Most connections open at once; further scans wait for a free slot. */
  maxConnections: number;
  /** Time allowed to establish a connection, in milliseconds. */
  connectTimeoutMs: number;
  /** Longest time without any socket activity once connected, in milliseconds. */
  readTimeoutMs: number;
}

/**
 * A clamd client over TCP. Every request opens its own connection, taken from a bounded pool of
 * concurrent connections, because clamd answers one command per connection and a shared socket
 * mixes up length prefixes under concurrency.
 */
export interface ClamdClient {
  /**
   * Streams `bytes` with INSTREAM and returns clamd's conclusion. `expiresAt` is a
   * `performance.now()` time after which the request is abandoned.
   * @throws ScannerError `engine-failed` (transient) when clamd cannot be reached, closes the
   *   connection without a reply, stays silent past a timeout or returns an invalid reply.
   */
  scan(bytes: Uint8Array, expiresAt: number): Promise<ClamdScanResult>;
  /**
   * Sends VERSION and returns the engine version and signature database date.
   * @throws ScannerError `engine-failed` as for {@link ClamdClient.scan}.
   */
  version(expiresAt: number): Promise<ClamdVersion>;
  /** Connections open or being opened now; for tests and health. */
  readonly activeConnections: number;
}

/** Creates a clamd client. No connection is opened until the first request. */
export function createClamdClient(options: ClamdClientOptions): ClamdClient {
  const limit = pLimit(options.maxConnections);
  return {
    scan: (bytes, expiresAt) =>
      limit(async () => {
        const reply = await exchange(options, expiresAt, (socket, isSettled) =>
          writeInstream(socket, bytes, isSettled),
        );
        const result = parseScanReply(reply);
        if (!result) {
          throw engineFailure(ENGINE_NAME, 'bad-response', 'clamd returned an invalid INSTREAM reply');
        }
        return result;
      }),
    version: (expiresAt) =>
      limit(async () => {
        const reply = await exchange(options, expiresAt, async (socket) => {
          socket.write('zVERSION\0');
        });
        const version = parseVersionReply(reply);
        if (!version) {
          throw engineFailure(ENGINE_NAME, 'bad-response', 'clamd returned an invalid VERSION reply');
        }
        return version;
      }),
    get activeConnections() {
      return limit.activeCount;
    },
  };
}

/**
 * Opens one connection, runs `send` on it and resolves with the first NUL-terminated reply. The
 * socket is read from the moment it connects, so a reply that arrives while `send` is still
 * writing (clamd's size-limit error, sent before it closes the connection) ends the exchange
 * instead of surfacing as EPIPE or ECONNRESET. The socket is destroyed on every path.
 */
function exchange(
  options: ClamdClientOptions,
  expiresAt: number,
  send: (socket: Socket, isSettled: () => boolean) => Promise<void>,
): Promise<string> {
  const remainingMs = expiresAt - performance.now();
  if (remainingMs <= 0) {
    // The deadline passed while the request waited for a free connection slot.
    return Promise.reject(engineFailure(ENGINE_NAME, 'timeout', 'no clamd connection before the scan deadline'));
  }
  return new Promise((resolve, reject) => {
    const socket = connect({ host: options.host, port: options.port });
    const received: Buffer[] = [];
    let receivedBytes = 0;
    let settled = false;

    const finish = (error: Error | undefined, reply?: string): void => {
      if (settled) {
        return;
      }
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(deadlineTimer);
      socket.destroy();
      if (error) {
        reject(error);
      } else {
        resolve(reply ?? '');
      }
    };
    const fail = (kind: 'unavailable' | 'timeout' | 'bad-response', message: string, cause?: unknown) =>
      finish(engineFailure(ENGINE_NAME, kind, message, cause));

    const connectTimer = setTimeout(
      () => fail('timeout', `clamd connection not established within ${options.connectTimeoutMs} ms`),
      Math.min(options.connectTimeoutMs, remainingMs),
    );
    const deadlineTimer = setTimeout(
      () => fail('timeout', 'clamd did not answer before the scan deadline'),
      remainingMs,
    );

    socket.on('connect', () => {
      clearTimeout(connectTimer);
      socket.setTimeout(options.readTimeoutMs);
      send(socket, () => settled).catch((error: unknown) =>
        fail('unavailable', 'writing to clamd failed', error),
      );
    });
    socket.on('timeout', () =>
      fail('timeout', `clamd was silent for ${options.readTimeoutMs} ms`),
    );
    socket.on('data', (chunk: Buffer) => {
      receivedBytes += chunk.length;
      received.push(chunk);
      const all = Buffer.concat(received);
      const end = all.indexOf(0);
      if (end >= 0 && end <= MAX_REPLY_BYTES) {
        finish(undefined, all.subarray(0, end).toString('latin1'));
      } else if (receivedBytes > MAX_REPLY_BYTES) {
        fail('bad-response', `clamd reply passed ${MAX_REPLY_BYTES} bytes without a terminator`);
      }
    });
    // A reply always ends with NUL in the z-prefixed protocol, so a close before it is a failure.
    socket.on('end', () => fail('unavailable', 'clamd closed the connection before replying'));
    socket.on('error', (error) => fail('unavailable', 'clamd connection failed', error));
    socket.on('close', () => fail('unavailable', 'clamd closed the connection before replying'));
  });
}

/**
 * Writes `zINSTREAM`, then the bytes as chunks each preceded by its length as a 4-byte
 * big-endian integer, then a zero-length chunk that ends the stream. Waits for `drain` when the
 * socket buffer is full, so a large object is never copied into memory, and stops as soon as
 * the exchange has settled (a reply arrived or the connection failed).
 */
async function writeInstream(
  socket: Socket,
  bytes: Uint8Array,
  isSettled: () => boolean,
): Promise<void> {
  socket.write('zINSTREAM\0');
  for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
    if (isSettled()) {
      return;
    }
    const chunk = bytes.subarray(offset, offset + CHUNK_BYTES);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(chunk.length);
    socket.write(header);
    if (!socket.write(chunk)) {
      await waitForDrain(socket);
    }
  }
  if (!isSettled()) {
    socket.write(Buffer.alloc(4));
  }
}

/** Resolves on `drain`, or on `close` so that a dead connection never leaves the writer waiting. */
function waitForDrain(socket: Socket): Promise<void> {
  return new Promise((resume) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resume();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
