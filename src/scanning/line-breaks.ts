/**
 * Tests whether the message contains a carriage return that no line feed follows. Python's email
 * package (checked with 3.11) ends a line there, and a client may too, while postal-mime ends
 * lines only at a line feed. So such a message can show a reader parts that the parser never saw.
 * A message without any CR costs one native search, and a CRLF message one search per line.
 */
export function hasLoneCarriageReturn(raw: Uint8Array): boolean {
  let index = raw.indexOf(0x0d);
  while (index >= 0) {
    if (raw[index + 1] !== 0x0a) {
      return true;
    }
    index = raw.indexOf(0x0d, index + 2);
  }
  return false;
}

/** Returns a copy of the message in which every lone carriage return is a line feed. */
export function readLoneCarriageReturnsAsLineFeeds(raw: Uint8Array): Uint8Array {
  // latin1 maps each byte to one code unit and back, so every other byte stays as it was.
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
  return new Uint8Array(Buffer.from(text.replace(/\r(?!\n)/g, '\n'), 'latin1'));
}
