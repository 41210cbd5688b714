// libmime ships no type declarations; only the functions mailsweep calls are declared.
declare module 'libmime' {
  /** Decodes RFC 2047 encoded-words, joining adjacent ones of the same charset first. */
  export function decodeWords(value: string): string;
  /** Encodes non-ASCII words as RFC 2047 encoded-words (`Q` or `B`), lines at most maxLength. */
  export function encodeWords(value: string, mimeWordEncoding?: 'Q' | 'B', maxLength?: number): string;
  const libmime: { decodeWords: typeof decodeWords; encodeWords: typeof encodeWords };
  export default libmime;
}
