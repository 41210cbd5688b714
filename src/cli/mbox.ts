/**
 * A `From ` separator line of an mbox file (RFC 4155): `From sender date`. Requiring a weekday and
 * month after the sender keeps a body line that merely starts with "From " from splitting a message.
 */
const FROM_LINE = /^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) /;

/** True when the bytes hold more than one mbox message, so they must be split. */
export function looksLikeMbox(bytes: Uint8Array): boolean {
  if (!isFromLineAt(bytes, 0)) {
    return false;
  }
  return findSeparators(bytes).length > 1;
}

/**
 * Splits an mbox file into raw messages, removing the `From ` separator lines and undoing the
 * `>From ` quoting of mboxrd (one `>` is removed from every `>+From ` line).
 */
export function splitMbox(bytes: Uint8Array): Uint8Array[] {
  const starts = findSeparators(bytes);
  const messages: Uint8Array[] = [];
  for (const [index, start] of starts.entries()) {
    const end = starts[index + 1] ?? bytes.length;
    const lineEnd = bytes.indexOf(0x0a, start);
    const bodyStart = lineEnd < 0 || lineEnd >= end ? end : lineEnd + 1;
    messages.push(unquoteFromLines(bytes.subarray(bodyStart, end)));
  }
  return messages;
}

function findSeparators(bytes: Uint8Array): number[] {
  const starts: number[] = [];
  let lineStart = 0;
  while (lineStart < bytes.length) {
    if (bytes[lineStart] === 0x46 && isFromLineAt(bytes, lineStart)) {
      starts.push(lineStart);
    }
    const newline = bytes.indexOf(0x0a, lineStart);
    if (newline < 0) {
      break;
    }
    lineStart = newline + 1;
  }
  return starts;
}

function isFromLineAt(bytes: Uint8Array, offset: number): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset + offset, Math.min(200, bytes.length - offset));
  return FROM_LINE.test(head.toString('latin1'));
}

function unquoteFromLines(message: Uint8Array): Uint8Array {
  const text = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (text.indexOf('>From ') < 0) {
    return message;
  }
  const unquoted = text.toString('latin1').replace(/^>(>*From )/gm, '$1');
  return new Uint8Array(Buffer.from(unquoted, 'latin1'));
}
