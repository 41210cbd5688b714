import { createHash } from 'node:crypto';

import type { BlockBlobClient } from '@azure/storage-blob';

import { ScannerError } from '../shared/errors.js';
import { isAlreadyExists, isNotFound, toBlobScannerError } from './blob-errors.js';
import type { ContentDigest } from './content-digest.js';

/**
 * Block size for message uploads. 8 MiB keeps a 150 MiB message at 19 blocks, far below the
 * service's 50,000-block limit, and bounds what one failed request has to resend.
 */
export const MESSAGE_BLOCK_BYTES = 8 * 1024 * 1024;

/** Blocks uploaded at once. With 8 MiB blocks this is at most 32 MiB in flight. */
const UPLOAD_CONCURRENCY = 4;

/** Media type of a stored message: one RFC 5322 message, byte for byte. */
export const MESSAGE_CONTENT_TYPE = 'message/rfc822';

/**
 * Stores `raw` at `blob` unless it already exists, and returns whether this call created it.
 *
 * Each block goes up as Put Block with a Content-MD5 that the service checks, and Put Block List
 * then commits the blocks only if no blob exists yet (If-None-Match: *). The whole-blob MD5 is
 * stored as the blob's Content-MD5 property and the SHA-256 as blob metadata. The service does not
 * check those two: the per-block MD5s already covered the transfer, and `verify()` checks the
 * SHA-256 end to end. Blocks are views into `raw`, so the upload holds no second copy.
 *
 * @throws ScannerError `blob-conflict` when a blob already there has another SHA-256,
 *   `blob-unavailable` when storage fails.
 */
export async function uploadMessageOnce(
  blob: BlockBlobClient,
  raw: Uint8Array,
  digest: ContentDigest,
  quarantineId: string,
): Promise<boolean> {
  // A repeated put of a large message would otherwise resend every block only to have the
  // commit rejected; one HEAD request is cheaper. Small messages skip it and rely on the commit.
  if (raw.byteLength > MESSAGE_BLOCK_BYTES) {
    const storedSha256 = await tryReadStoredSha256(blob, quarantineId);
    if (storedSha256 !== undefined) {
      assertSameContent(storedSha256, digest, quarantineId);
      return false;
    }
  }

  try {
    const { blockIds, blobMd5 } = await stageBlocks(blob, raw);
    await blob.commitBlockList(blockIds, {
      blobHTTPHeaders: { blobContentType: MESSAGE_CONTENT_TYPE, blobContentMD5: blobMd5 },
      metadata: { sha256: digest.sha256 },
      conditions: { ifNoneMatch: '*' },
    });
    return true;
  } catch (error) {
    if (!isAlreadyExists(error)) {
      throw toBlobScannerError(error, { operation: 'upload message', quarantineId });
    }
  }
  assertSameContent(await tryReadStoredSha256(blob, quarantineId), digest, quarantineId);
  return false;
}

/** Uploads every block of `raw`, a few at a time, and returns the ids in commit order. */
async function stageBlocks(
  blob: BlockBlobClient,
  raw: Uint8Array,
): Promise<{ blockIds: string[]; blobMd5: Buffer }> {
  const blockCount = Math.ceil(raw.byteLength / MESSAGE_BLOCK_BYTES);
  const blockIds = Array.from({ length: blockCount }, (_, index) => toBlockId(index));
  const blobHash = createHash('md5');
  const controller = new AbortController();
  let nextIndex = 0;

  const stageNext = async (): Promise<void> => {
    while (nextIndex < blockCount && !controller.signal.aborted) {
      const index = nextIndex;
      nextIndex += 1;
      const block = toBlock(raw, index);
      const blockMd5 = createHash('md5').update(block).digest();
      await blob.stageBlock(blockIds[index] ?? '', block, block.byteLength, {
        transactionalContentMD5: blockMd5,
        abortSignal: controller.signal,
      });
    }
  };
  const workers = Array.from({ length: Math.min(UPLOAD_CONCURRENCY, blockCount) }, async () => {
    try {
      await stageNext();
    } catch (error) {
      // Stop the other workers too, so no upload keeps running after put() has failed.
      controller.abort();
      throw error;
    }
  });

  // The whole-blob MD5 needs the blocks in order, so it is computed here rather than by workers.
  for (let index = 0; index < blockCount; index += 1) {
    blobHash.update(toBlock(raw, index));
  }
  await Promise.all(workers);
  return { blockIds, blobMd5: blobHash.digest() };
}

/** Returns block `index` of `raw` as a view that shares its memory. */
function toBlock(raw: Uint8Array, index: number): Buffer {
  const start = index * MESSAGE_BLOCK_BYTES;
  const end = Math.min(start + MESSAGE_BLOCK_BYTES, raw.byteLength);
  return Buffer.from(raw.buffer, raw.byteOffset + start, end - start);
}

/** Builds a block id. Ids must be base64 and of one length within a blob, hence six digits. */
function toBlockId(index: number): string {
  return Buffer.from(`block-${index.toString().padStart(6, '0')}`).toString('base64');
}

/** Returns the stored SHA-256 metadata, '' when the blob has none, or undefined when missing. */
async function tryReadStoredSha256(
  blob: BlockBlobClient,
  quarantineId: string,
): Promise<string | undefined> {
  try {
    const properties = await blob.getProperties();
    return properties.metadata?.sha256 ?? '';
  } catch (error) {
    if (isNotFound(error)) {
      return undefined;
    }
    throw toBlobScannerError(error, { operation: 'read message properties', quarantineId });
  }
}

/** An existing blob under the same id must hold the same bytes; anything else is a conflict. */
function assertSameContent(
  storedSha256: string | undefined,
  digest: ContentDigest,
  quarantineId: string,
): void {
  if (storedSha256 !== digest.sha256) {
    throw new ScannerError(
      'blob-conflict',
      'A different message is already stored under this quarantine id',
      { fields: { quarantineId } },
    );
  }
}
