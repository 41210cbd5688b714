import { Buffer } from 'node:buffer';
import { constants, crc32, deflateRawSync } from 'node:zlib';

/** One member of a test zip. Fields beyond name and content let a test forge hostile members. */
export interface ZipMember {
  name: string;
  content?: Uint8Array | string;
  /** Default `deflate`. */
  method?: 'store' | 'deflate';
  /** Raw bytes written as the member's data instead of compressing `content`. */
  data?: Uint8Array;
  /** Compression method number written to the headers, overriding `method`. */
  methodNumber?: number;
  /** Declared uncompressed size, overriding the real one. */
  declaredSize?: number;
  /** General-purpose flag bits, e.g. 0x0001 for an encrypted member. */
  flags?: number;
  /** Write no local record; the central entry points at the local header of member `n`. */
  sharesLocalHeaderOf?: number;
  /** Extra field bytes written to both headers, e.g. an Info-ZIP Unicode Path field. */
  extraField?: Uint8Array;
}

/** Options of {@link buildZip}. */
export interface ZipOptions {
  /**
   * Bytes written before the first member, with every offset counted from the start of the
   * prefix, as `zip -A` leaves a self-extracting archive. Default: none.
   */
  prefix?: Uint8Array;
}

interface WrittenMember {
  member: ZipMember;
  offset: number;
  method: number;
  crc: number;
  compressedSize: number;
  uncompressedSize: number;
  nameBytes: Buffer;
  extraField: Buffer;
}

/** Builds a zip archive by hand, so tests control every header field. */
export function buildZip(members: readonly ZipMember[], options: ZipOptions = {}): Buffer {
  const prefix = Buffer.from(options.prefix ?? new Uint8Array(0));
  const chunks: Buffer[] = [prefix];
  const written: WrittenMember[] = [];
  let offset = prefix.length;

  for (const member of members) {
    const content = toBytes(member.content ?? '');
    const method = member.methodNumber ?? (member.method === 'store' ? 0 : 8);
    const data = member.data ?? (method === 8 ? deflateRawSync(content) : content);
    const nameBytes = Buffer.from(member.name, 'utf8');
    const shared = member.sharesLocalHeaderOf;
    const record: WrittenMember = {
      member,
      offset: shared === undefined ? offset : (written[shared]?.offset ?? 0),
      method,
      crc: crc32(content),
      compressedSize: data.length,
      uncompressedSize: member.declaredSize ?? content.length,
      nameBytes,
      extraField: Buffer.from(member.extraField ?? new Uint8Array(0)),
    };
    if (shared !== undefined) {
      const target = written[shared];
      record.compressedSize = target?.compressedSize ?? 0;
      record.uncompressedSize = target?.uncompressedSize ?? 0;
      record.method = target?.method ?? 0;
    } else {
      const local = localHeader(record);
      chunks.push(local, Buffer.from(data));
      offset += local.length + data.length;
    }
    written.push(record);
  }

  const centralStart = offset;
  for (const record of written) {
    const central = centralHeader(record);
    chunks.push(central);
    offset += central.length;
  }
  chunks.push(endOfCentralDirectory(written.length, offset - centralStart, centralStart));
  return Buffer.concat(chunks);
}

/**
 * Deflate data that inflates to `mebibytes` MiB of zeros from about 1 KiB per MiB, built by
 * repeating one flushed block instead of compressing the whole output.
 */
export function zeroBombData(mebibytes: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(1024 * 1024), { finishFlush: constants.Z_FULL_FLUSH });
  const blocks: Buffer[] = Array.from({ length: mebibytes }, () => block);
  // An empty final block with fixed Huffman codes: BFINAL=1, BTYPE=01, end-of-block code.
  blocks.push(Buffer.from([0x03, 0x00]));
  return Buffer.concat(blocks);
}

function localHeader(record: WrittenMember): Buffer {
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(20, 4);
  header.writeUInt16LE(flagsOf(record), 6);
  header.writeUInt16LE(record.method, 8);
  header.writeUInt32LE(record.crc, 14);
  header.writeUInt32LE(record.compressedSize, 18);
  header.writeUInt32LE(record.uncompressedSize, 22);
  header.writeUInt16LE(record.nameBytes.length, 26);
  header.writeUInt16LE(record.extraField.length, 28);
  return Buffer.concat([header, record.nameBytes, record.extraField]);
}

function centralHeader(record: WrittenMember): Buffer {
  const header = Buffer.alloc(46);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE(20, 4);
  header.writeUInt16LE(20, 6);
  header.writeUInt16LE(flagsOf(record), 8);
  header.writeUInt16LE(record.method, 10);
  header.writeUInt32LE(record.crc, 16);
  header.writeUInt32LE(record.compressedSize, 20);
  header.writeUInt32LE(record.uncompressedSize, 24);
  header.writeUInt16LE(record.nameBytes.length, 28);
  header.writeUInt16LE(record.extraField.length, 30);
  header.writeUInt32LE(record.offset, 42);
  return Buffer.concat([header, record.nameBytes, record.extraField]);
}

function endOfCentralDirectory(count: number, size: number, start: number): Buffer {
  const record = Buffer.alloc(22);
  record.writeUInt32LE(0x06054b50, 0);
  record.writeUInt16LE(count, 8);
  record.writeUInt16LE(count, 10);
  record.writeUInt32LE(size, 12);
  record.writeUInt32LE(start, 16);
  return record;
}

/** UTF-8 names are flagged with bit 11 so yauzl does not read them as CP437. */
function flagsOf(record: WrittenMember): number {
  return (record.member.flags ?? 0) | 0x0800;
}

/**
 * Builds an Info-ZIP Unicode Path extra field (0x7075) that gives `name` as the UTF-8 name of a
 * member whose header name is `headerName`. The CRC ties the field to the header name.
 */
export function unicodePathField(headerName: string, name: string): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const field = Buffer.alloc(9);
  field.writeUInt16LE(0x7075, 0);
  field.writeUInt16LE(5 + nameBytes.length, 2);
  field.writeUInt8(1, 4);
  field.writeUInt32LE(crc32(Buffer.from(headerName, 'utf8')), 5);
  return Buffer.concat([field, nameBytes]);
}

function toBytes(content: Uint8Array | string): Buffer {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
}
