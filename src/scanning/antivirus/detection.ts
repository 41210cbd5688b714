import type { Finding } from '../types.js';

/** A finding of the embedded antivirus before the engine adds its stage and name. */
export type Detection = Pick<Finding, 'category' | 'signature' | 'reason' | 'mimePath'>;

/** Returns the container path of an archive member: `2!doc.docm!word/x.bin` → `2!doc.docm`. */
export function containerPath(path: string): string {
  const separator = path.lastIndexOf('!');
  return separator < 0 ? path : path.slice(0, separator);
}
