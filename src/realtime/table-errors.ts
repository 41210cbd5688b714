/** Returns the HTTP status of an Azure SDK RestError, or undefined for anything else. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const status = (error as { statusCode?: unknown }).statusCode;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/** True for a write rejected because the row changed or exists (412 or 409). */
export function isConcurrencyConflict(error: unknown): boolean {
  const status = statusOf(error);
  return status === 412 || status === 409;
}

/**
 * Converts a mailbox address or id to a RowKey. Table storage rejects `/`, `\`, `#`, `?` and
 * control characters in keys, which an address's local part may contain, so the key is the
 * percent-encoded lower-cased value.
 */
export function toRowKey(value: string): string {
  return encodeURIComponent(value.toLowerCase());
}
