import { z } from 'zod';

/** What clamd concluded about one INSTREAM object. */
export type ClamdScanResult =
  | { kind: 'clean' }
  | { kind: 'found'; signature: string }
  | { kind: 'size-limit' }
  | { kind: 'error' };

/** clamd's engine version and, when official databases are loaded, their version and date. */
export interface ClamdVersion {
  /** For example `ClamAV 1.4.6`. */
  version: string;
  /** Version of the daily database, absent when only local signature files are loaded. */
  signatureVersion?: number;
  /** Build time of the daily database as an ISO 8601 string, when clamd reports one. */
  signatureDate?: string;
}

/**
 * Signature names are printable ASCII without spaces (`Win.Test.EICAR_HDB-1`, or a local
 * signature with the `.UNOFFICIAL` suffix clamd appends). The length bound keeps a hostile or
 * broken daemon from filling findings.
 */
const FOUND_PATTERN = /^stream: ([\x21-\x7e]{1,200}) FOUND$/;

/** clamd's reply when an INSTREAM object passes its StreamMaxLength (clamd 0.9x to 1.4). */
const SIZE_LIMIT_REPLY = 'INSTREAM size limit exceeded. ERROR';

/**
 * Parses the reply to `zINSTREAM` with its terminating NUL removed. Returns undefined for anything
 * that is not one of clamd's documented replies, which the caller treats as an invalid response.
 * @see https://docs.clamav.net/manual/Usage/Scanning.html
 */
export function parseScanReply(reply: string): ClamdScanResult | undefined {
  const text = reply.trim();
  if (text === 'stream: OK') {
    return { kind: 'clean' };
  }
  const found = FOUND_PATTERN.exec(text);
  if (found?.[1]) {
    return { kind: 'found', signature: found[1] };
  }
  if (text === SIZE_LIMIT_REPLY) {
    return { kind: 'size-limit' };
  }
  if (/^[\x20-\x7e]{1,500} ERROR$/.test(text)) {
    return { kind: 'error' };
  }
  return undefined;
}

const versionReply = z
  .string()
  .max(500)
  .regex(/^ClamAV [0-9][\x21-\x7e]*(\/[0-9]+\/[\x20-\x7e]+)?$/);

/**
 * Parses the reply to `zVERSION`: `ClamAV 1.4.6/27478/Wed Dec  4 09:34:56 2024`, or
 * `ClamAV 1.4.6` alone when no official database is loaded. Returns undefined for other text.
 */
export function parseVersionReply(reply: string): ClamdVersion | undefined {
  const parsed = versionReply.safeParse(reply.trim());
  if (!parsed.success) {
    return undefined;
  }
  const [version = '', databaseVersion, databaseDate] = parsed.data.split('/');
  const result: ClamdVersion = { version };
  if (databaseVersion !== undefined) {
    result.signatureVersion = Number(databaseVersion);
  }
  const date = databaseDate === undefined ? Number.NaN : Date.parse(`${databaseDate} UTC`);
  if (!Number.isNaN(date)) {
    result.signatureDate = new Date(date).toISOString();
  }
  return result;
}
