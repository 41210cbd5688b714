import { decodeEncodedWords } from './header-decoding.js';
import type { HeaderField } from './types.js';

/** Bytes read from the start of a message by {@link readHeaderBlock}: 64 KiB. */
export const MAX_HEADER_BLOCK_BYTES = 64 * 1024;

/** A header field line: a name of printable ASCII except the colon, then a colon. */
const FIELD_LINE = /^([!-9;-~]+)[ \t]*:(.*)$/s;

/**
 * Reads the top-level header fields alone, from at most the first 64 KiB of the message up to the
 * first empty line, unfolded and RFC 2047 decoded as extraction decodes them. Extraction calls it
 * when parsing the whole message crossed a limit, so that the quarantine metadata still carries
 * the sender, recipients and subject. A line that is neither a field nor a fold ends the block,
 * and a field that the 64 KiB bound cuts is dropped.
 */
export function readHeaderBlock(raw: Uint8Array): HeaderField[] {
  const bounded = raw.subarray(0, MAX_HEADER_BLOCK_BYTES);
  const lines = decodeHeaderText(bounded).split(/\r?\n/);
  const truncated = raw.length > bounded.length;
  const fields: HeaderField[] = [];
  let current: string[] | undefined;
  let ended = false;
  for (const line of lines) {
    if (line.length === 0) {
      ended = true;
      break;
    }
    if ((line[0] === ' ' || line[0] === '\t') && current) {
      current.push(line);
      continue;
    }
    if (current) {
      fields.push(toField(current));
    }
    if (!FIELD_LINE.test(line)) {
      current = undefined;
      ended = true;
      break;
    }
    current = [line];
  }
  if (current && (ended || !truncated)) {
    fields.push(toField(current));
  }
  return fields;
}

function toField(lines: readonly string[]): HeaderField {
  const match = FIELD_LINE.exec(lines.join('')) as RegExpExecArray;
  return {
    key: (match[1] ?? '').toLowerCase(),
    value: decodeEncodedWords((match[2] ?? '').trim()),
  };
}

/** Reads header bytes as UTF-8 (RFC 6532), or as windows-1252 when they are not valid UTF-8. */
function decodeHeaderText(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('windows-1252').decode(bytes);
  }
}
