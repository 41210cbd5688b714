/** Content-Transfer-Encoding values that mean a body is readable as it is (RFC 2045 section 6). */
const IDENTITY_ENCODINGS = ['7bit', '8bit', 'binary'] as const;

/** Transfer encodings postal-mime decodes, plus the identity encodings. */
export const KNOWN_TRANSFER_ENCODINGS: ReadonlySet<string> = new Set([
  ...IDENTITY_ENCODINGS,
  'base64',
  'quoted-printable',
]);

/** Non-standard labels for a uuencoded body, which extraction decodes itself. */
export const UUENCODE_TRANSFER_ENCODINGS: ReadonlySet<string> = new Set([
  'x-uuencode',
  'uuencode',
  'x-uue',
  'uue',
]);

const COMMENT = /\([^()]*\)/g;
const MAX_COMMENT_PASSES = 8;

/**
 * Reads a Content-Transfer-Encoding value leniently: RFC 822 comments (nested ones too, up to
 * eight levels), double quotes and surrounding white space are removed and the rest is lower-cased,
 * so `"Base64"`, ` BASE64 ` and `base64 (sent by X)` are all `base64`. postal-mime 4.2.0 reads the
 * first token itself and leaves a quoted value undecoded. A client that decodes it anyway would
 * show a file that a scan of the encoded text misses, so extraction decodes it.
 */
export function normalizeTransferEncoding(value: string): string {
  if (KNOWN_TRANSFER_ENCODINGS.has(value)) {
    return value;
  }
  let text = value;
  for (let pass = 0; pass < MAX_COMMENT_PASSES && text.includes('('); pass++) {
    const stripped = text.replace(COMMENT, ' ');
    if (stripped === text) {
      break;
    }
    text = stripped;
  }
  return text.replaceAll('"', '').trim().toLowerCase();
}
