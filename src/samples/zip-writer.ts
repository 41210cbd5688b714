import { crc32 } from 'node:zlib';

import yazl from 'yazl';

/** A file to put in a zip. */
export interface ZipEntry {
  name: string;
  content: Uint8Array;
}

/** Builds a deflate-compressed zip in memory with yazl. */
export async function createZip(entries: readonly ZipEntry[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    zip.addBuffer(Buffer.from(entry.content), entry.name, { mtime: new Date(Date.UTC(2026, 0, 1)) });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Builds a zip whose single stored member is encrypted with the traditional PKWARE cipher
 * (APPNOTE.TXT section 6.1), as password-protected zips from Windows and most mail-borne malware
 * are. yazl cannot encrypt, so the few headers are written here.
 */
export function createEncryptedZip(entry: ZipEntry, password: string): Buffer {
  const name = Buffer.from(entry.name, 'utf8');
  const checksum = crc32(entry.content) >>> 0;
  const cipher = new PkwareCipher(password);
  // 12-byte encryption header: 11 filler bytes, then the high byte of the CRC as the check byte.
  const header = Buffer.alloc(12, 0x5a);
  header[11] = checksum >>> 24;
  const encrypted = Buffer.concat([cipher.encrypt(header), cipher.encrypt(Buffer.from(entry.content))]);

  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed to extract
  local.writeUInt16LE(0x0001 | 0x0800, 6); // encrypted, UTF-8 name
  local.writeUInt16LE(0, 8); // stored
  local.writeUInt32LE(0, 10); // DOS time and date
  local.writeUInt32LE(checksum, 14);
  local.writeUInt32LE(encrypted.length, 18);
  local.writeUInt32LE(entry.content.length, 22);
  local.writeUInt16LE(name.length, 26);
  local.writeUInt16LE(0, 28);

  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0x0001 | 0x0800, 8);
  central.writeUInt16LE(0, 10);
  central.writeUInt32LE(0, 12);
  central.writeUInt32LE(checksum, 16);
  central.writeUInt32LE(encrypted.length, 20);
  central.writeUInt32LE(entry.content.length, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt32LE(0, 42); // offset of the local header

  const centralOffset = local.length + name.length + encrypted.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, name, encrypted, central, name, end]);
}

/** The traditional PKWARE stream cipher: three 32-bit keys updated with CRC-32 per byte. */
class PkwareCipher {
  private keys = [0x12345678, 0x23456789, 0x34567890];

  constructor(password: string) {
    for (const byte of Buffer.from(password, 'utf8')) {
      this.update(byte);
    }
  }

  encrypt(plain: Buffer): Buffer {
    const out = Buffer.alloc(plain.length);
    for (let i = 0; i < plain.length; i++) {
      const temp = ((this.keys[2] as number) | 2) & 0xffff;
      const keyByte = ((temp * (temp ^ 1)) >>> 8) & 0xff;
      const byte = plain[i] as number;
      out[i] = byte ^ keyByte;
      this.update(byte);
    }
    return out;
  }

  private update(byte: number): void {
    const [key0 = 0, key1 = 0, key2 = 0] = this.keys;
    const next0 = crcByte(key0, byte);
    const next1 = (Math.imul((key1 + (next0 & 0xff)) >>> 0, 134775813) + 1) >>> 0;
    const next2 = crcByte(key2, next1 >>> 24);
    this.keys = [next0, next1, next2];
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) {
    c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return c >>> 0;
});

/** Advances CRC-32 by one byte as the cipher uses it, with no pre- or post-inversion. */
function crcByte(crc: number, byte: number): number {
  return ((CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8)) >>> 0;
}
