import type { Readable } from 'node:stream';

import type { Verdict } from '../scanning/types.js';

/** Everything the quarantine records about one stored message, next to its raw bytes. */
export interface QuarantineMetadata {
  /** 32 lowercase hex characters derived from the mailbox and the SHA-256 of the raw bytes. */
  id: string;
  mailbox?: string;
  folder?: string;
  /** Mailbox item id (Graph or EWS). */
  messageId?: string;
  internetMessageId?: string;
  sender?: string;
  recipients: string[];
  subject?: string;
  /** ISO 8601 time the mailbox received the message. */
  receivedAt?: string;
  /** Size of the raw message in bytes. */
  size: number;
  /** Lowercase hex SHA-256 of the raw message. */
  sha256: string;
  verdict: Verdict;
  /** Local file the message came from, for command-line runs. */
  source?: string;
  /** ISO 8601 time the first copy was stored. */
  quarantinedAt: string;
  /** ISO 8601 time after which the item may be deleted: `quarantinedAt` plus the retention days. */
  expiresAt: string;
}

/**
 * The caller-supplied part of {@link QuarantineMetadata}. The store computes the id, size, SHA-256
 * and times.
 */
export type NewQuarantineItem = Omit<
  QuarantineMetadata,
  'id' | 'size' | 'sha256' | 'quarantinedAt' | 'expiresAt'
>;

/** Outcome of {@link QuarantineStore.put}. */
export interface QuarantinePutResult {
  id: string;
  /** False when the same mailbox already had an item with the same bytes. */
  created: boolean;
}

/** Filters for {@link QuarantineStore.list}. */
export interface QuarantineListOptions {
  /** Only items of this mailbox, compared case-insensitively. Default: every mailbox. */
  mailbox?: string;
  /**
   * Only items whose verdict has this category (`spam`, `malware` ...). Any other value is
   * rejected with `config-invalid`. Default: every category.
   */
  category?: string;
  /** Most items returned; a positive integer. Default: no limit. */
  limit?: number;
}

/** Storage for quarantined messages: the original bytes exactly as received, plus metadata. */
export interface QuarantineStore {
  /**
   * Stores the raw bytes and metadata. Idempotent: the same mailbox with the same bytes is the
   * same item, and a repeated call returns `created: false` and keeps the first metadata.
   * @throws ScannerError `blob-conflict` if a stored copy under the same id has other content,
   *   `blob-unavailable` if storage cannot be reached.
   */
  put(raw: Uint8Array, item: NewQuarantineItem): Promise<QuarantinePutResult>;

  /**
   * Reads the stored copy back and compares its size and SHA-256 with the metadata.
   * @throws ScannerError `blob-integrity` on a mismatch, `quarantine-not-found` if missing.
   */
  verify(id: string): Promise<void>;

  /** @throws ScannerError `quarantine-not-found` for an unknown or invalid id. */
  getMetadata(id: string): Promise<QuarantineMetadata>;

  /**
   * Returns exactly the bytes that went in, checked against the stored size and SHA-256.
   * @throws ScannerError `blob-integrity` on a mismatch, `quarantine-not-found` if missing.
   */
  getContent(id: string): Promise<Buffer>;

  /**
   * Opens the raw message as a stream, for exporting large items without buffering them. The
   * stream is checked as it flows and fails with ScannerError `blob-integrity` at its end if the
   * size or SHA-256 differs, so a consumer must treat output as untrusted until `end`.
   */
  openContentStream(id: string): Promise<Readable>;

  /**
   * Deletes an item's message and metadata blobs, the message first, so that an interrupted
   * delete leaves metadata that a retry finds. Returns false when neither blob existed.
   * @throws ScannerError `blob-unavailable` if storage fails.
   */
  delete(id: string): Promise<boolean>;

  /** Yields the metadata of stored items in id order, page by page. */
  list(options?: QuarantineListOptions): AsyncIterable<QuarantineMetadata>;

  /**
   * Sets the retention tag that a storage lifecycle rule filters on, on both blobs of an item:
   * the verdict category while the item may expire, `hold` while it is on legal hold. Stores
   * without lifecycle rules leave it out.
   * @throws ScannerError `blob-unavailable` if storage fails.
   */
  setRetentionTag?(id: string, value: string): Promise<void>;
}

/** Blob index tag name read by the quarantine lifecycle rules. */
export const RETENTION_TAG = 'retention';

/** Retention tag value of an item on legal hold; no lifecycle rule matches it. */
export const HOLD_TAG_VALUE = 'hold';
