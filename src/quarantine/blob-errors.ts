import { ScannerError } from '../shared/errors.js';

/** What the failed request was doing, for the error message and log fields. */
export interface BlobErrorContext {
  /** Short verb phrase such as `upload message` or `read metadata`. */
  operation: string;
  quarantineId?: string;
}

/** HTTP status and storage error code of a failed SDK call, read without trusting its type. */
export interface BlobFailure {
  statusCode?: number;
  errorCode?: string;
}

/**
 * Reads the status and error code of an Azure SDK RestError by shape, because several copies of
 * @azure/core-rest-pipeline can be installed side by side and `instanceof` fails across them.
 */
export function readBlobFailure(error: unknown): BlobFailure {
  if (typeof error !== 'object' || error === null) {
    return {};
  }
  const { statusCode, code, details } = error as {
    statusCode?: unknown;
    code?: unknown;
    details?: { errorCode?: unknown };
  };
  const detailCode = details?.errorCode;
  let errorCode: string | undefined;
  if (typeof detailCode === 'string') {
    errorCode = detailCode;
  } else if (typeof code === 'string') {
    errorCode = code;
  }
  return { statusCode: typeof statusCode === 'number' ? statusCode : undefined, errorCode };
}

/** True for a 404 from the storage service (missing blob or container). */
export function isNotFound(error: unknown): boolean {
  return readBlobFailure(error).statusCode === 404;
}

/** True when a create-only write found the blob already there (409 or 412, by service). */
export function isAlreadyExists(error: unknown): boolean {
  const { statusCode } = readBlobFailure(error);
  return statusCode === 409 || statusCode === 412;
}

/**
 * Translates an SDK, identity or network error into a ScannerError. Messages carry the
 * operation, HTTP status and storage error code only: never URLs, which may hold a SAS token.
 * - 404: `quarantine-not-found`
 * - 401 and 403, and a credential that cannot be built: `config-invalid` (permanent)
 * - anything else, including 5xx, 429, timeouts and refused connections: `blob-unavailable`
 *
 * NOTE: other 4xx answers (400 invalid input, 413) also become the transient `blob-unavailable`
 * because the error codes have no permanent storage failure, so a caller may retry them in vain.
 */
export function toBlobScannerError(error: unknown, context: BlobErrorContext): ScannerError {
  if (error instanceof ScannerError) {
    return error;
  }
  const { statusCode, errorCode } = readBlobFailure(error);
  const fields: Record<string, string | number> = { operation: context.operation };
  if (context.quarantineId !== undefined) {
    fields.quarantineId = context.quarantineId;
  }
  if (statusCode !== undefined) {
    fields.status = statusCode;
  }
  if (errorCode !== undefined) {
    fields.errorCode = errorCode;
  }
  const detail = [statusCode === undefined ? undefined : `HTTP ${statusCode}`, errorCode]
    .filter((part) => part !== undefined)
    .join(' ');
  const suffix = detail === '' ? '' : ` (${detail})`;

  if (statusCode === 404) {
    return new ScannerError('quarantine-not-found', `Quarantine item not found${suffix}`, {
      cause: error,
      fields,
    });
  }
  if (statusCode === 401 || statusCode === 403 || isCredentialUnavailable(error)) {
    return new ScannerError(
      'config-invalid',
      `Blob storage rejected the request to ${context.operation}${suffix}: check ` +
        'MAILSWEEP_QUARANTINE_CONNECTION_STRING, or the identity and its Storage Blob Data ' +
        'Contributor role for MAILSWEEP_QUARANTINE_BLOB_URI',
      { cause: error, fields },
    );
  }
  return new ScannerError(
    'blob-unavailable',
    `Blob storage request to ${context.operation} failed${suffix}`,
    { cause: error, fields },
  );
}

/** @azure/identity's error for a credential chain in which no credential is configured. */
function isCredentialUnavailable(error: unknown): boolean {
  return error instanceof Error && error.name === 'CredentialUnavailableError';
}
