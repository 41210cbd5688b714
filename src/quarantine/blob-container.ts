import type { TokenCredential } from '@azure/identity';
import { DefaultAzureCredential } from '@azure/identity';
import {
  BlobServiceClient,
  type ContainerClient,
  type StoragePipelineOptions,
  type StorageRetryOptions,
} from '@azure/storage-blob';

import type { Settings } from '../config/settings.js';
import { ScannerError } from '../shared/errors.js';

/** How to reach the quarantine container. */
export interface QuarantineContainerOptions {
  settings: Settings['quarantine'];
  /**
   * Credential for `settings.blobServiceUri`. Default: a DefaultAzureCredential, which uses the
   * managed identity in Azure. Ignored when a connection string is set.
   */
  credential?: TokenCredential;
  /** Retry policy of the storage SDK. Default: the SDK's (4 tries, exponential from 4 s). */
  retryOptions?: StorageRetryOptions;
}

/**
 * Builds the client of the quarantine container. A connection string (Azure Storage or Azurite)
 * takes precedence over a blob service URI with a token credential, so that a local override
 * wins over the identity-based setting of a deployed app.
 * @throws ScannerError `config-invalid` when neither is set or the connection string is malformed.
 */
export function createQuarantineContainerClient(
  options: QuarantineContainerOptions,
): ContainerClient {
  const { settings } = options;
  const pipelineOptions: StoragePipelineOptions = {
    retryOptions: options.retryOptions,
    userAgentOptions: { userAgentPrefix: 'mailsweep' },
  };

  if (settings.connectionString !== undefined) {
    return fromConnectionString(settings.connectionString, pipelineOptions).getContainerClient(
      settings.container,
    );
  }
  if (settings.blobServiceUri !== undefined) {
    const credential = options.credential ?? new DefaultAzureCredential();
    const service = new BlobServiceClient(settings.blobServiceUri, credential, pipelineOptions);
    return service.getContainerClient(settings.container);
  }
  throw new ScannerError(
    'config-invalid',
    'Quarantine storage is not configured: set MAILSWEEP_QUARANTINE_CONNECTION_STRING or ' +
      'MAILSWEEP_QUARANTINE_BLOB_URI',
  );
}

function fromConnectionString(
  connectionString: string,
  pipelineOptions: StoragePipelineOptions,
): BlobServiceClient {
  try {
    return BlobServiceClient.fromConnectionString(connectionString, pipelineOptions);
  } catch (error) {
    // The SDK's parse errors name the missing part, never the string itself.
    throw new ScannerError(
      'config-invalid',
      'MAILSWEEP_QUARANTINE_CONNECTION_STRING is not a valid storage connection string',
      { cause: error },
    );
  }
}
