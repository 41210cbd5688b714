import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

import { ScannerError } from '../shared/errors.js';

/** Size and SHA-256 that a stored message must match. */
export interface ContentDigest {
  size: number;
  /** Lowercase hex SHA-256. */
  sha256: string;
}

/** Computes the digest of bytes already in memory, without copying them. */
export function digestBytes(raw: Uint8Array): ContentDigest {
  return { size: raw.byteLength, sha256: createHash('sha256').update(raw).digest('hex') };
}

/** Builds the error for a stored copy that no longer matches its metadata. */
export function integrityError(
  quarantineId: string,
  expected: ContentDigest,
  actualSize: number,
): ScannerError {
  return new ScannerError(
    'blob-integrity',
    'Stored quarantine message does not match its recorded size and SHA-256',
    { fields: { quarantineId, expectedBytes: expected.size, actualBytes: actualSize } },
  );
}

/**
 * Hashes a stream chunk by chunk and compares it with `expected`, so a 100 MB message is checked
 * without holding it in memory.
 * @throws ScannerError `blob-integrity` on a mismatch; stream errors are passed through.
 */
export async function verifyStream(
  stream: NodeJS.ReadableStream,
  expected: ContentDigest,
  quarantineId: string,
): Promise<void> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const bytes = toBytes(chunk);
    size += bytes.byteLength;
    hash.update(bytes);
  }
  if (size !== expected.size || hash.digest('hex') !== expected.sha256) {
    throw integrityError(quarantineId, expected, size);
  }
}

/**
 * Reads a stream into one buffer of exactly `expected.size` bytes while hashing it, so the copy
 * is checked without a second buffer or a second pass.
 * @throws ScannerError `blob-integrity` if the stream is longer or shorter or hashes differently.
 */
export async function readVerified(
  stream: NodeJS.ReadableStream,
  expected: ContentDigest,
  quarantineId: string,
): Promise<Buffer> {
  const output = Buffer.allocUnsafe(expected.size);
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const bytes = toBytes(chunk);
    if (size + bytes.byteLength > expected.size) {
      throw integrityError(quarantineId, expected, size + bytes.byteLength);
    }
    output.set(bytes, size);
    hash.update(bytes);
    size += bytes.byteLength;
  }
  if (size !== expected.size || hash.digest('hex') !== expected.sha256) {
    throw integrityError(quarantineId, expected, size);
  }
  return output;
}

/**
 * A pass-through stream that hashes what flows through it and fails at its end, before `end` is
 * emitted, if the size or SHA-256 differs from `expected`.
 */
export function createVerifyingStream(expected: ContentDigest, quarantineId: string): Transform {
  const hash = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      size += chunk.byteLength;
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback: TransformCallback): void {
      if (size !== expected.size || hash.digest('hex') !== expected.sha256) {
        callback(integrityError(quarantineId, expected, size));
        return;
      }
      callback();
    },
  });
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) {
    return chunk;
  }
  if (typeof chunk === 'string') {
    return Buffer.from(chunk, 'utf8');
  }
  throw new TypeError('Blob download stream produced a chunk that is not bytes');
}
