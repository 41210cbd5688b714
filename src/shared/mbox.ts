/**
 * A well-formed `From ` separator line of an mbox file (RFC 4155): `From sender date`, with a
 * weekday and month after the sender.
 */
const FROM_LINE = /^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) /;

/** Any line that starts with `From `, followed on the next line by a header field. */
const LOOSE_FROM_LINE = /^From [^\n]*\n[!-9;-~]+:/;

/**
 * True when the bytes start with a separator line, so that they are read as mbox messages and
 * the separator is never taken for part of a message.
 */
export function looksLikeMbox(bytes: Uint8Array): boolean {
  return isFromLineAt(bytes, 0);
}

/**
 * Splits an mbox file into raw messages, removing the `From ` separator lines and undoing the
 * `>From ` quoting of mboxrd (one `>` is removed from every `>+From ` line). RFC 4155 has the
 * writer end each message with an empty line, so a message that ends with one loses that last
 * line ending: a message written as `body\n` and stored as `body\n\n` is returned as `body\n`.
 * A message that ends without an empty line, as some writers leave the last one, is kept whole.
 */
export function splitMbox(bytes: Uint8Array): Uint8Array[] {
  const starts = findSeparators(bytes);
  const messages: Uint8Array[] = [];
  for (const [index, start] of starts.entries()) {
    const end = starts[index + 1] ?? bytes.length;
    const lineEnd = bytes.indexOf(0x0a, start);
    const bodyStart = lineEnd < 0 || lineEnd >= end ? end : lineEnd + 1;
    messages.push(unquoteFromLines(withoutSeparatorLine(bytes.subarray(bodyStart, end))));
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

/**
 * A separator is a well-formed From_ line, or any `From ` line that a header field follows. The
 * second form catches separators that other tools wrote without a proper date: missing one would
 * hide every later message inside the one before it, unscanned. A body line that starts with
 * "From " and is followed by text rather than a header is not a separator.
 */
function isFromLineAt(bytes: Uint8Array, offset: number): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset + offset, Math.min(1200, bytes.length - offset));
  const text = head.toString('latin1');
  return FROM_LINE.test(text) || LOOSE_FROM_LINE.test(text.replace(/\r\n/g, '\n'));
}

/** Removes the line ending of a final empty line (LF LF or CRLF CRLF), if there is one. */
function withoutSeparatorLine(message: Uint8Array): Uint8Array {
  const length = message.length;
  const endsWith = (tail: string) =>
    length >= tail.length &&
    Buffer.from(message.buffer, message.byteOffset + length - tail.length, tail.length).toString('latin1') === tail;
  if (endsWith('\r\n\r\n')) {
    return message.subarray(0, length - 2);
  }
  if (endsWith('\n\n')) {
    return message.subarray(0, length - 1);
  }
  return message;
}

function unquoteFromLines(message: Uint8Array): Uint8Array {
  const text = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (text.indexOf('>From ') < 0) {
    return message;
  }
  const unquoted = text.toString('latin1').replace(/^>(>*From )/gm, '$1');
  return new Uint8Array(Buffer.from(unquoted, 'latin1'));
}
