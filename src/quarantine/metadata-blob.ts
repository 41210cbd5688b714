import type { BlobClient, ContainerClient } from '@azure/storage-blob';

import { ScannerError } from '../shared/errors.js';
import { isAlreadyExists, toBlobScannerError } from './blob-errors.js';
import { storedMetadataSchema, tryParseMetadataDocument } from './metadata-schema.js';
import { toMailboxHash } from './quarantine-id.js';
import type { QuarantineMetadata } from './quarantine-types.js';

/**
 * Largest metadata document read or written. Findings and recipients make it grow, but 16 MiB is
 * far above any real verdict, and the cap keeps a tampered document from exhausting memory.
 */
export const MAX_METADATA_BYTES = 16 * 1024 * 1024;

/** Name of the blob holding an item's raw message. */
export function messageBlobName(id: string): string {
  return `items/${id}/message.eml`;
}

/** Name of the blob holding an item's metadata document. */
export function metadataBlobName(id: string): string {
  return `items/${id}/metadata.json`;
}

/** Rejects metadata that could be written but not read back: bad times, oversized documents. */
export function assertStorable(document: Buffer, quarantineId: string): void {
  if (document.byteLength > MAX_METADATA_BYTES) {
    throw new ScannerError(
      'input-unreadable',
      `Quarantine metadata exceeds ${MAX_METADATA_BYTES} bytes`,
      { fields: { quarantineId, bytes: document.byteLength } },
    );
  }
  const result = storedMetadataSchema.safeParse(JSON.parse(document.toString('utf8')));
  if (!result.success) {
    const paths = result.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new ScannerError('input-unreadable', `Invalid quarantine metadata fields: ${paths}`, {
      fields: { quarantineId },
    });
  }
}

/** Writes metadata.json unless it exists; a first put's metadata is never replaced. */
export async function uploadMetadataOnce(
  container: ContainerClient,
  metadata: QuarantineMetadata,
  document: Buffer,
): Promise<boolean> {
  const blob = container.getBlockBlobClient(metadataBlobName(metadata.id));
  try {
    await blob.upload(document, document.byteLength, {
      blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
      // ASCII-only copies of the list filters, so listing can skip items without reading them.
      metadata: {
        category: metadata.verdict.category,
        mailboxhash: toMailboxHash(metadata.mailbox),
      },
      conditions: { ifNoneMatch: '*' },
    });
    return true;
  } catch (error) {
    if (isAlreadyExists(error)) {
      return false;
    }
    throw toBlobScannerError(error, { operation: 'upload metadata', quarantineId: metadata.id });
  }
}

/**
 * Downloads and validates an item's metadata.json.
 * @throws ScannerError `quarantine-not-found` if missing, `blob-integrity` if invalid.
 */
export async function readMetadata(
  container: ContainerClient,
  id: string,
): Promise<QuarantineMetadata> {
  const blob = container.getBlobClient(metadataBlobName(id));
  const context = { operation: 'read metadata', quarantineId: id };
  let bytes: Buffer;
  try {
    bytes = await downloadSmallBlob(blob, id);
  } catch (error) {
    throw toBlobScannerError(error, context);
  }

  const metadata = tryParseMetadataDocument(bytes);
  if (metadata === undefined || metadata.id !== id) {
    throw new ScannerError('blob-integrity', 'Stored quarantine metadata is invalid', {
      fields: { quarantineId: id },
    });
  }
  return metadata;
}

async function downloadSmallBlob(blob: BlobClient, id: string): Promise<Buffer> {
  const response = await blob.download();
  const length = response.contentLength ?? 0;
  if (length > MAX_METADATA_BYTES || response.readableStreamBody === undefined) {
    response.readableStreamBody?.resume();
    throw new ScannerError('blob-integrity', 'Stored quarantine metadata is invalid', {
      fields: { quarantineId: id, bytes: length },
    });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.readableStreamBody) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    total += buffer.byteLength;
    if (total > MAX_METADATA_BYTES) {
      throw new ScannerError('blob-integrity', 'Stored quarantine metadata is invalid', {
        fields: { quarantineId: id, bytes: total },
      });
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, total);
}
