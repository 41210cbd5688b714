import { Transform, type Readable, type TransformCallback } from 'node:stream';

import { ScannerError } from '../shared/errors.js';

/**
 * Wraps a download so that it fails unless it delivers exactly `declaredBytes` (when declared).
 * A source that breaks off also fails the returned stream, so a partial MIME is never read as a
 * complete message. `onDone` runs once when the stream ends, fails or is destroyed.
 */
export function checkDownloadLength(
  source: Readable,
  declaredBytes: number | undefined,
  onDone: () => void,
): Readable {
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      received += chunk.length;
      if (declaredBytes !== undefined && received > declaredBytes) {
        callback(incomplete('MIME download is longer than declared', received, declaredBytes));
        return;
      }
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      if (declaredBytes !== undefined && received !== declaredBytes) {
        callback(incomplete('MIME download ended early', received, declaredBytes));
        return;
      }
      callback();
    },
  });
  let done = false;
  const finish = (): void => {
    if (!done) {
      done = true;
      onDone();
    }
  };
  source.once('error', (error) => {
    counter.destroy(incomplete('MIME download broke off', received, declaredBytes, error));
  });
  counter.once('close', () => {
    // A consumer that stops early must not leave the connection open.
    if (!source.destroyed) {
      source.destroy();
    }
    finish();
  });
  source.pipe(counter);
  return counter;
}

function incomplete(
  message: string,
  received: number,
  declared: number | undefined,
  cause?: unknown,
): ScannerError {
  // Transient: a new download may well complete.
  return new ScannerError('mailbox-unavailable', message, {
    cause,
    fields: { receivedBytes: received, declaredBytes: declared ?? -1 },
  });
}
