import { Buffer } from 'node:buffer';

/**
 * The 68-character EICAR anti-malware test file. It is kept in two pieces so that this source
 * file is not itself reported by antivirus software on developer machines and CI runners.
 * @see https://www.eicar.org/download-anti-malware-testfile/
 */
export const EICAR_TEST_STRING = [
  'X5O!P%@AP[4\\PZX54(P^)7CC)7}$',
  'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*',
].join('');

const EICAR_BYTES = Buffer.from(EICAR_TEST_STRING, 'latin1');

/**
 * True when the bytes contain the EICAR test string anywhere. Real scanners only match it at the
 * start of a file; matching anywhere also finds it pasted into a body or padded by a sender.
 */
export function containsEicar(content: Uint8Array): boolean {
  if (content.length < EICAR_BYTES.length) {
    return false;
  }
  return Buffer.from(content.buffer, content.byteOffset, content.byteLength).includes(EICAR_BYTES);
}
