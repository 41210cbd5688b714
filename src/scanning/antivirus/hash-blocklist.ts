import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { ScannerError } from '../../shared/errors.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Loads a SHA-256 blocklist: one hex digest per line, optionally followed by whitespace and any
 * text (a malware family name, a source). Blank lines and lines starting with `#` are skipped.
 * Upper-case digests are accepted and stored in lower case.
 * @throws ScannerError `config-invalid` when the file cannot be read or a line is not a digest.
 * The message names the line number, never the line's content.
 */
export async function loadHashBlocklist(path: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ScannerError(
      'config-invalid',
      'Hash blocklist file could not be read; check MAILSWEEP_HASH_BLOCKLIST_PATH',
      { cause: error },
    );
  }
  return parseHashBlocklist(text);
}

/** Parses blocklist text in the format of {@link loadHashBlocklist}. */
export function parseHashBlocklist(text: string): Set<string> {
  const hashes = new Set<string>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      continue;
    }
    const digest = trimmed.split(/\s/, 1)[0].toLowerCase();
    if (!SHA256_HEX.test(digest)) {
      const lineNumber = index + 1;
      throw new ScannerError(
        'config-invalid',
        `Hash blocklist line ${lineNumber} is not a SHA-256 digest: expected 64 hex ` +
          'characters, optionally followed by whitespace and a comment',
        { fields: { line: lineNumber } },
      );
    }
    hashes.add(digest);
  }
  return hashes;
}

/** Lower-case hex SHA-256 of the bytes, the form blocklist entries use. */
export function sha256Hex(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}
