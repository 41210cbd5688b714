import libmime from 'libmime';

/**
 * Decodes RFC 2047 encoded-words in a header value or parameter. libmime joins adjacent words of
 * the same charset before decoding, so a multibyte character split across two base64 words comes
 * out whole (postal-mime's own decoder decodes each word alone and loses it). A value that cannot
 * be decoded is returned as written, because the raw text is still evidence for the engines.
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) {
    return value;
  }
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}
