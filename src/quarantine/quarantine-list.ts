import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';

import { ScannerError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { isNotFound, toBlobScannerError } from './blob-errors.js';
import { readMetadata } from './metadata-blob.js';
import { toMailboxHash } from './quarantine-id.js';
import type { QuarantineListOptions, QuarantineMetadata } from './quarantine-types.js';

const listOptionsSchema = z.object({
  mailbox: z.string().optional(),
  category: z.enum(['clean', 'spam', 'phishing', 'malware', 'policy', 'unscannable']).optional(),
  limit: z.number().int().positive().optional(),
});

/**
 * Validates list options from a caller such as the command line.
 * @throws ScannerError `config-invalid` naming the invalid options.
 */
export function parseListOptions(
  options: QuarantineListOptions | undefined,
): QuarantineListOptions {
  const result = listOptionsSchema.safeParse(options ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ScannerError('config-invalid', `Invalid quarantine list options: ${problems.join('; ')}`);
  }
  return result.data;
}

/**
 * Walks the metadata blobs page by page. Blob metadata filters out most non-matching items without
 * a download, and the filters are checked again on the validated document, which is the authority.
 * An item whose metadata is damaged is logged and skipped, so one bad item cannot hide the rest.
 */
export async function* listMetadata(
  container: ContainerClient,
  logger: Logger,
  options: QuarantineListOptions,
  pageSize: number,
): AsyncGenerator<QuarantineMetadata> {
  const mailboxHash = options.mailbox === undefined ? undefined : toMailboxHash(options.mailbox);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let returned = 0;

  const pages = container
    .listBlobsFlat({ prefix: 'items/', includeMetadata: true })
    .byPage({ maxPageSize: pageSize });
  try {
    for await (const page of pages) {
      for (const blob of page.segment.blobItems) {
        const id = /^items\/([0-9a-f]{32})\/metadata\.json$/.exec(blob.name)?.[1];
        if (id === undefined) {
          continue;
        }
        if (!matchesBlobMetadata(blob.metadata, options.category, mailboxHash)) {
          continue;
        }
        const metadata = await tryReadListedMetadata(container, logger, id);
        if (metadata === undefined || !matchesDocument(metadata, options.category, mailboxHash)) {
          continue;
        }
        yield metadata;
        returned += 1;
        if (returned >= limit) {
          return;
        }
      }
    }
  } catch (error) {
    if (isNotFound(error)) {
      return; // No container yet means no items.
    }
    throw toBlobScannerError(error, { operation: 'list items' });
  }
}

function matchesBlobMetadata(
  blobMetadata: Record<string, string> | undefined,
  category: string | undefined,
  mailboxHash: string | undefined,
): boolean {
  // Items written without these keys are not skipped here; the document check decides.
  const storedCategory = blobMetadata?.category;
  const storedMailboxHash = blobMetadata?.mailboxhash;
  if (category !== undefined && storedCategory !== undefined && storedCategory !== category) {
    return false;
  }
  return !(
    mailboxHash !== undefined &&
    storedMailboxHash !== undefined &&
    storedMailboxHash !== mailboxHash
  );
}

function matchesDocument(
  metadata: QuarantineMetadata,
  category: string | undefined,
  mailboxHash: string | undefined,
): boolean {
  if (category !== undefined && metadata.verdict.category !== category) {
    return false;
  }
  return mailboxHash === undefined || toMailboxHash(metadata.mailbox) === mailboxHash;
}

async function tryReadListedMetadata(
  container: ContainerClient,
  logger: Logger,
  id: string,
): Promise<QuarantineMetadata | undefined> {
  try {
    return await readMetadata(container, id);
  } catch (error) {
    if (error instanceof ScannerError && error.code === 'blob-integrity') {
      logger.warn('Quarantine item skipped: metadata is invalid', {
        quarantineId: id,
        code: error.code,
      });
      return undefined;
    }
    if (error instanceof ScannerError && error.code === 'quarantine-not-found') {
      return undefined; // Deleted between the listing and the read.
    }
    throw error;
  }
}
