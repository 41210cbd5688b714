import type { Readable } from 'node:stream';

import type { TokenCredential } from '@azure/identity';
import type { ContainerClient, StorageRetryOptions } from '@azure/storage-blob';

import type { Settings } from '../config/settings.js';
import { ScannerError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { createQuarantineContainerClient } from './blob-container.js';
import { isNotFound, toBlobScannerError } from './blob-errors.js';
import {
  createVerifyingStream,
  digestBytes,
  readVerified,
  verifyStream,
  type ContentDigest,
} from './content-digest.js';
import { toMetadataDocument } from './metadata-schema.js';
import {
  assertStorable,
  messageBlobName,
  metadataBlobName,
  readMetadata,
  uploadMetadataOnce,
} from './metadata-blob.js';
import { uploadMessageOnce } from './message-upload.js';
import { parseQuarantineId, toQuarantineId } from './quarantine-id.js';
import { listMetadata, parseListOptions } from './quarantine-list.js';
import {
  RETENTION_TAG,
  type NewQuarantineItem,
  type QuarantineMetadata,
  type QuarantineStore,
} from './quarantine-types.js';

/** Default blobs per listing request. */
const LIST_PAGE_SIZE = 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

/** Options of {@link createBlobQuarantineStore}. */
export interface BlobQuarantineStoreOptions {
  settings: Settings['quarantine'];
  logger: Logger;
  /** Token credential for `settings.blobServiceUri`. Default: DefaultAzureCredential. */
  credential?: TokenCredential;
  /** Retry policy of the storage SDK. Default: the SDK's (4 tries, exponential from 4 s). */
  retryOptions?: StorageRetryOptions;
  /** Blobs per listing request, 1 to 5,000. Each item is two blobs. Default: 1,000. */
  listPageSize?: number;
}

/**
 * Creates a quarantine store on Azure Blob Storage or Azurite. Each item is two blobs:
 * `items/<id>/message.eml` with the raw bytes and `items/<id>/metadata.json` with the metadata.
 * The metadata is a JSON blob rather than blob metadata because blob metadata values must be
 * ASCII and all of them together fit in 8 KB, which subjects and recipient lists overrun.
 * The container is created, private, on the first put.
 * @throws ScannerError `config-invalid` when no storage is configured or an option is invalid.
 */
export function createBlobQuarantineStore(options: BlobQuarantineStoreOptions): QuarantineStore {
  const container = createQuarantineContainerClient(options);
  const { logger, settings } = options;
  const pageSize = options.listPageSize ?? LIST_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 5000) {
    throw new ScannerError('config-invalid', 'listPageSize must be an integer from 1 to 5000');
  }
  let containerReady: Promise<void> | undefined;

  const ensureContainer = (): Promise<void> => {
    containerReady ??= createContainer(container, logger).catch((error: unknown) => {
      containerReady = undefined;
      throw error;
    });
    return containerReady;
  };

  return {
    async put(raw, item) {
      const startedAt = Date.now();
      const digest = digestBytes(raw);
      const id = toQuarantineId(item.mailbox, digest.sha256);
      const days = retentionDaysOf(settings, item.verdict.category);
      const metadata = toMetadata(id, digest, item, new Date(startedAt), days);
      const document = toMetadataDocument(metadata);
      assertStorable(document, id);

      await ensureContainer();
      const messageCreated = await uploadMessageOnce(
        container.getBlockBlobClient(messageBlobName(id)),
        raw,
        digest,
        id,
      );
      const created = await uploadMetadataOnce(container, metadata, document);
      if (created) {
        // Only a new item gets its tag, so that a repeated put cannot lift the legal hold of the
        // first. A failed tag is logged, not thrown, because an untagged item matches no lifecycle
        // rule and only the retention timer removes it. Throwing would leave the message in the
        // mailbox when the identity lacks the tag permission.
        try {
          await setRetentionTag(container, id, metadata.verdict.category);
        } catch (error) {
          logger.warn('Quarantine item stored without its retention tag', {
            quarantineId: id,
            code: error instanceof ScannerError ? error.code : 'unknown',
          });
        }
      }
      logger.info('Quarantine item stored', {
        quarantineId: id,
        bytes: digest.size,
        created,
        messageCreated,
        durationMs: Date.now() - startedAt,
      });
      return { id, created };
    },

    async verify(id) {
      const metadata = await readMetadata(container, parseQuarantineId(id));
      const stream = await openMessage(container, metadata.id);
      await guardStream(verifyStream(stream, metadata, metadata.id), metadata.id);
    },

    async getMetadata(id) {
      return readMetadata(container, parseQuarantineId(id));
    },

    async getContent(id) {
      const metadata = await readMetadata(container, parseQuarantineId(id));
      const stream = await openMessage(container, metadata.id);
      return guardStream(readVerified(stream, metadata, metadata.id), metadata.id);
    },

    async openContentStream(id) {
      const metadata = await readMetadata(container, parseQuarantineId(id));
      const source = await openMessage(container, metadata.id);
      return pipeVerified(source, metadata, metadata.id);
    },

    async delete(id) {
      const valid = parseQuarantineId(id);
      let existed = false;
      for (const name of [messageBlobName(valid), metadataBlobName(valid)]) {
        try {
          const response = await container.getBlobClient(name).deleteIfExists();
          existed ||= response.succeeded;
        } catch (error) {
          throw toBlobScannerError(error, { operation: 'delete item', quarantineId: valid });
        }
      }
      logger.info('Quarantine item deleted', { quarantineId: valid, existed });
      return existed;
    },

    list(listOptions) {
      return listMetadata(container, logger, parseListOptions(listOptions), pageSize);
    },

    async setRetentionTag(id, value) {
      await setRetentionTag(container, parseQuarantineId(id), value);
    },
  };
}

/**
 * Tags both blobs of an item with `retention=<value>`. Blob lifecycle rules filter on blob index
 * tags with equality only, so each category gets its own rule and a held item (`hold`) matches
 * none (docs/quarantine-api.md, "Retention").
 */
async function setRetentionTag(container: ContainerClient, id: string, value: string): Promise<void> {
  for (const name of [messageBlobName(id), metadataBlobName(id)]) {
    try {
      await container.getBlobClient(name).setTags({ [RETENTION_TAG]: value });
    } catch (error) {
      throw toBlobScannerError(error, { operation: 'set retention tag', quarantineId: id });
    }
  }
}

async function createContainer(container: ContainerClient, logger: Logger): Promise<void> {
  try {
    // No `access` option: the container is private, reachable only with account credentials.
    const response = await container.createIfNotExists();
    if (response.succeeded) {
      logger.info('Quarantine container created', { container: container.containerName });
    }
  } catch (error) {
    throw toBlobScannerError(error, { operation: 'create container' });
  }
}

/** Days an item of this category is kept: its category's setting, else the general one. */
export function retentionDaysOf(settings: Settings['quarantine'], category: string): number {
  const byCategory = settings.retentionDaysByCategory as Record<string, number | undefined> | undefined;
  return byCategory?.[category] ?? settings.retentionDays;
}

function toMetadata(
  id: string,
  digest: ContentDigest,
  item: NewQuarantineItem,
  now: Date,
  retentionDays: number,
): QuarantineMetadata {
  return {
    ...item,
    recipients: [...item.recipients],
    id,
    size: digest.size,
    sha256: digest.sha256,
    quarantinedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + retentionDays * DAY_MS).toISOString(),
  };
}

/**
 * Starts the download of an item's message. A missing message next to existing metadata means
 * the item was damaged, so it is `blob-integrity` rather than not found.
 */
async function openMessage(container: ContainerClient, id: string): Promise<NodeJS.ReadableStream> {
  try {
    const response = await container.getBlobClient(messageBlobName(id)).download();
    if (response.readableStreamBody === undefined) {
      throw new ScannerError('blob-unavailable', 'Blob download returned no body stream', {
        fields: { quarantineId: id },
      });
    }
    return response.readableStreamBody;
  } catch (error) {
    if (isNotFound(error)) {
      throw new ScannerError('blob-integrity', 'Stored quarantine message is missing', {
        cause: error,
        fields: { quarantineId: id },
      });
    }
    throw toBlobScannerError(error, { operation: 'download message', quarantineId: id });
  }
}

/** Awaits a read of a download stream, translating network failures of the stream itself. */
async function guardStream<T>(reading: Promise<T>, id: string): Promise<T> {
  try {
    return await reading;
  } catch (error) {
    throw toBlobScannerError(error, { operation: 'download message', quarantineId: id });
  }
}

function pipeVerified(
  source: NodeJS.ReadableStream,
  expected: ContentDigest,
  id: string,
): Readable {
  const verifying = createVerifyingStream(expected, id);
  source.on('error', (error: unknown) => {
    const context = { operation: 'download message', quarantineId: id };
    verifying.destroy(toBlobScannerError(error, context));
  });
  verifying.on('close', () => {
    // A consumer that stops early must not leave the HTTP response open.
    if ('destroy' in source && typeof source.destroy === 'function') {
      source.destroy();
    }
  });
  source.pipe(verifying);
  return verifying;
}

