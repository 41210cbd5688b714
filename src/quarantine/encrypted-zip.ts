import { BlobWriter, configure, Uint8ArrayReader, ZipWriter } from '@zip.js/zip.js';

/**
 * Password that malware analysts expect on a zip of a live sample, so that a virus scanner on the
 * way does not delete the download and a user does not open it by accident.
 */
export const SAMPLE_ZIP_PASSWORD = 'infected';

// Workers would load a separate script per call; compressing one message in-process is enough.
configure({ useWebWorkers: false });

/**
 * Packs one file into a zip encrypted with the traditional PKWARE cipher (ZipCrypto). The
 * password only keeps scanners and careless clicks away from a live sample, not an attacker, and
 * ZipCrypto opens in every tool: Debian's unzip 6.0, for one, cannot read AES entries.
 */
export async function toEncryptedZip(
  fileName: string,
  content: Uint8Array,
  password: string = SAMPLE_ZIP_PASSWORD,
): Promise<Buffer> {
  const writer = new ZipWriter(new BlobWriter('application/zip'), {
    password,
    zipCrypto: true,
  });
  await writer.add(fileName, new Uint8ArrayReader(content));
  const blob = await writer.close();
  return Buffer.from(await blob.arrayBuffer());
}
