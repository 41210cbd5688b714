import type { MimeDownload } from '../mailbox/mailbox-client.js';
import { ScannerError, toError } from '../shared/errors.js';

/** Outcome of {@link readMime}. */
export type MimeReadResult =
  | { kind: 'complete'; raw: Buffer }
  /** The message is larger than the limit; reading stopped there and the stream was destroyed. */
  | { kind: 'too-large'; bytesRead: number };

/**
 * Reads a MIME download into memory, stopping at `maxBytes`, and checks it against the size the
 * store declared. Graph's `$value` can end early on large messages without an error, so a short
 * download is reported instead of being scanned as if it were the whole message.
 * @throws ScannerError `mailbox-unavailable` (transient) when the stream fails or ends before the
 *   declared size, so that the job is retried.
 */
export async function readMime(download: MimeDownload, maxBytes: number): Promise<MimeReadResult> {
  const { stream, declaredBytes } = download;
  if (declaredBytes !== undefined && declaredBytes > maxBytes) {
    stream.destroy();
    return { kind: 'too-large', bytesRead: 0 };
  }

  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      total += bytes.length;
      if (total > maxBytes) {
        stream.destroy();
        return { kind: 'too-large', bytesRead: total };
      }
      chunks.push(bytes);
    }
  } catch (error) {
    if (error instanceof ScannerError) {
      throw error;
    }
    throw new ScannerError('mailbox-unavailable', 'The MIME download failed before its end', {
      cause: toError(error),
      fields: { reason: 'mime-stream-failed', bytesRead: total },
    });
  }

  if (declaredBytes !== undefined && total < declaredBytes) {
    throw new ScannerError('mailbox-unavailable', 'The MIME download is shorter than its declared size', {
      fields: { reason: 'mime-incomplete', bytesRead: total, declaredBytes },
    });
  }
  return { kind: 'complete', raw: Buffer.concat(chunks, total) };
}
