import { Readable } from 'node:stream';

/** Base64 characters decoded per chunk of the MIME stream: 64 KiB of input, a multiple of 4. */
const BASE64_CHUNK_CHARS = 64 * 1024;

/** A SOAP response with its MimeContent element cut out. */
export interface MimeSplit {
  /** The response without the MimeContent text, small enough to parse as a tree. */
  document: Buffer;
  /** The base64 text of MimeContent, a view into the response buffer (not a copy). */
  base64?: Buffer;
}

/**
 * Cuts the text of the first MimeContent element out of a GetItem response, so that the XML
 * parser never holds the message and the base64 is decoded straight from the response buffer.
 * The element itself stays in the document, empty, with its attributes.
 */
export function splitMimeContent(response: Buffer): MimeSplit {
  const name = Buffer.from('MimeContent');
  let search = 0;
  for (;;) {
    const at = response.indexOf(name, search);
    if (at < 0) {
      return { document: response };
    }
    const open = response.lastIndexOf('<', at);
    const prefix = open < 0 ? '' : response.subarray(open + 1, at).toString('latin1');
    if (open >= 0 && /^[A-Za-z0-9_]*:?$/.test(prefix)) {
      const openEnd = response.indexOf('>', at);
      if (openEnd < 0 || response[openEnd - 1] === 0x2f) {
        return { document: response };
      }
      const close = response.indexOf(Buffer.from(`</${prefix}MimeContent>`), openEnd);
      if (close < 0) {
        // A truncated response: leave it whole, so that the XML parser reports it.
        return { document: response };
      }
      return {
        document: Buffer.concat([response.subarray(0, openEnd + 1), response.subarray(close)]),
        base64: response.subarray(openEnd + 1, close),
      };
    }
    search = at + name.length;
  }
}

/** Returns the number of bytes a base64 text decodes to, ignoring whitespace. */
export function decodedBase64Length(base64: Buffer): number {
  let characters = 0;
  let padding = 0;
  for (const byte of base64) {
    if (byte === 0x3d) {
      padding += 1;
    } else if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) {
      characters += 1;
    }
  }
  return Math.floor(((characters + padding) * 3) / 4) - padding;
}

/**
 * Streams the decoded bytes of a base64 text in chunks, so that the decoded message is never
 * held in one piece beside the response buffer. Whitespace between characters is skipped.
 */
export function decodeBase64Stream(base64: Buffer): Readable {
  function* chunks(): Generator<Buffer> {
    let carry = '';
    for (let start = 0; start < base64.length; start += BASE64_CHUNK_CHARS) {
      const piece = carry + base64.subarray(start, start + BASE64_CHUNK_CHARS).toString('latin1');
      const clean = piece.replace(/[\s]/g, '');
      const usable = clean.length - (clean.length % 4);
      carry = clean.slice(usable);
      if (usable > 0) {
        yield Buffer.from(clean.slice(0, usable), 'base64');
      }
    }
    if (carry.length > 0) {
      yield Buffer.from(carry, 'base64');
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
