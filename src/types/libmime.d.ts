// libmime ships no type declarations; only the function mailsweep calls is declared.
declare module 'libmime' {
  /** Decodes RFC 2047 encoded-words, joining adjacent ones of the same charset first. */
  export function decodeWords(value: string): string;
  const libmime: { decodeWords: typeof decodeWords };
  export default libmime;
}
