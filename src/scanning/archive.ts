import { Buffer } from 'node:buffer';
import { createInflateRaw } from 'node:zlib';

import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';

import type { ExtractionBudget } from './extraction-budget.js';
import type { ArchiveInfo, ContentPart } from './types.js';

/**
 * Decompressed size below which the compression ratio is not checked, in bytes. OOXML documents
 * compress their XML 20-50x, so a small member with a high ratio is normal. A zip bomb only
 * matters once it produces real volume.
 */
const RATIO_CHECK_FLOOR_BYTES = 1024 * 1024;

const LOCAL_FILE_HEADER_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const END_OF_CENTRAL_DIRECTORY_MAGIC = [0x50, 0x4b, 0x05, 0x06];
const CENTRAL_DIRECTORY_HEADER_MAGIC = [0x50, 0x4b, 0x01, 0x02];

/** Size of the end of central directory record without its comment, in bytes. */
const END_OF_CENTRAL_DIRECTORY_BYTES = 22;
/** Bytes searched from the end for the end record: its size plus a comment of up to 65,535. */
const END_OF_CENTRAL_DIRECTORY_SEARCH_BYTES = END_OF_CENTRAL_DIRECTORY_BYTES + 0xffff;

/** General-purpose bit 0: the member is encrypted (traditional PKWARE or WinZip AES). */
const FLAG_ENCRYPTED = 0x0001;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;

/** True when the content starts with a zip local file header or an empty zip's end record. */
export function isZip(content: Uint8Array): boolean {
  return (
    startsWith(content, LOCAL_FILE_HEADER_MAGIC) ||
    startsWith(content, END_OF_CENTRAL_DIRECTORY_MAGIC)
  );
}

/**
 * Finds a zip that other bytes precede, as in a self-extracting archive (a program with a zip
 * appended) or a zip behind a line of text. unzip 6.0 and Python's zipfile open such files. Returns
 * the offset from which the zip's own offsets count: 0 when the archiver adjusted them for the
 * prefix (`zip -A`), the prefix length when it did not, and -1 when they point before the start.
 * Returns undefined for a zip at offset 0, which {@link isZip} finds, and for content that is no
 * zip. The search reads only the last 65,557 bytes, so parts that are not zips cost little.
 */
export function findPrefixedZip(content: Uint8Array): number | undefined {
  if (isZip(content) || content.length < END_OF_CENTRAL_DIRECTORY_BYTES) {
    return undefined;
  }
  const buffer = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const searchStart = Math.max(0, buffer.length - END_OF_CENTRAL_DIRECTORY_SEARCH_BYTES);
  const tail = buffer.subarray(searchStart);
  const tailEnd = tail.lastIndexOf(Buffer.from(END_OF_CENTRAL_DIRECTORY_MAGIC));
  const end = searchStart + tailEnd;
  if (tailEnd < 0 || end + END_OF_CENTRAL_DIRECTORY_BYTES > buffer.length) {
    return undefined;
  }

  const entryCount = buffer.readUInt16LE(end + 10);
  const directoryBytes = buffer.readUInt32LE(end + 12);
  const directoryOffset = buffer.readUInt32LE(end + 16);
  const directoryStart = end - directoryBytes;
  // NOTE: a prefixed Zip64 archive, whose end record contains 0xffffffff in these fields, is either
  // missed here or reported as corrupt, because the Zip64 end record is not read.
  // A central directory header where the end record puts it, and a local header before it, make
  // an accidental match in other binary content unlikely.
  if (entryCount === 0 || directoryStart < 0) {
    return undefined;
  }
  if (!hasMagicAt(buffer, directoryStart, CENTRAL_DIRECTORY_HEADER_MAGIC)) {
    return undefined;
  }
  const firstLocalHeader = buffer.indexOf(Buffer.from(LOCAL_FILE_HEADER_MAGIC));
  if (firstLocalHeader < 0 || firstLocalHeader >= directoryStart) {
    return undefined;
  }
  return Math.max(-1, directoryStart - directoryOffset);
}

/** True when the content is a zip, at offset 0 or behind other bytes. */
export function containsZip(content: Uint8Array): boolean {
  return isZip(content) || findPrefixedZip(content) !== undefined;
}

/**
 * Opens a zip part, sets `part.archive` and returns its members as content parts, followed
 * directly by the members of any zip member (recursively, to `maxArchiveDepth`).
 *
 * Declared sizes are never trusted. Every member is inflated under a running byte cap drawn from
 * `budget`, and a member whose output passes 1 MiB at more than `maxCompressionRatio` times its
 * compressed size is cut off as a zip bomb. Every problem becomes a finding in `budget`:
 * `archive.corrupt`, `archive.compression-ratio`, `archive.unsupported-method`,
 * `limit.archive-depth` and the budget's own limits. The promise never rejects, and members read
 * before a problem are still returned.
 *
 * @param archiveDepth 1 for a zip that is a MIME part, 2 for a zip inside it, and so on.
 * @see https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT for the zip format.
 */
export async function expandArchive(
  part: ContentPart,
  budget: ExtractionBudget,
  archiveDepth: number,
): Promise<ContentPart[]> {
  if (archiveDepth > budget.limits.maxArchiveDepth) {
    budget.report(
      'limit.archive-depth',
      'unscannable',
      part.path,
      `archive nesting exceeds ${budget.limits.maxArchiveDepth} levels`,
    );
    return [];
  }

  const info: ArchiveInfo = { format: 'zip', encrypted: false, memberCount: 0, declaredBytes: 0 };
  part.archive = info;
  const members: ContentPart[] = [];
  try {
    await readZip(part, info, budget, archiveDepth, members);
  } catch (error) {
    reportUnreadable(error, part.path, info, budget);
  }
  return members;
}

/** Bytes of one member in the zip: from its local header, through its data start, to its end. */
interface MemberRange {
  start: number;
  dataStart: number;
  end: number;
}

async function readZip(
  part: ContentPart,
  info: ArchiveInfo,
  budget: ExtractionBudget,
  archiveDepth: number,
  members: ContentPart[],
): Promise<void> {
  const buffer = zipBytesOf(part.content);
  if (buffer === undefined) {
    budget.report(
      'archive.corrupt',
      'unscannable',
      part.path,
      'zip behind other bytes has offsets that point before its start',
    );
    return;
  }
  // With decodeStrings on, yauzl rejects the whole archive for a member named `../x` or `/x`.
  // Names are decoded below without that check, because nothing is written to disk. Sizes are
  // checked against the real output, so yauzl's declared-size validation is off too.
  const zipfile = await yauzl.fromBufferPromise(buffer, {
    decodeStrings: false,
    validateEntrySizes: false,
  });
  const ranges: MemberRange[] = [];

  for await (const entry of zipfile.eachEntry()) {
    if (!budget.checkDeadline(part.path)) {
      return;
    }
    const { name, folder } = toScannedName(entry);
    if (folder && entry.compressedSize === 0) {
      continue;
    }
    const path = `${part.path}!${name}`;
    if (!budget.tryArchiveMember(path)) {
      return;
    }

    const range = await readMemberRange(zipfile, entry);
    if (overlapsAny(range, ranges)) {
      budget.report(
        'archive.corrupt',
        'unscannable',
        part.path,
        'zip members overlap, as in a non-recursive zip bomb',
      );
      return;
    }
    ranges.push(range);

    const compressed = buffer.subarray(range.dataStart, range.end);
    const member = toMemberPart(part, path, name);
    const keepReading = await fillMember(member, entry, compressed, info, budget);
    // A folder entry whose data inflates to nothing, e.g. a deflated empty stream, is no member.
    if (!folder || member.encrypted === true || member.content.length > 0) {
      info.memberCount += 1;
      info.declaredBytes += entry.uncompressedSize;
      members.push(member);
    }
    if (!keepReading) {
      return;
    }

    if (!member.encrypted && containsZip(member.content)) {
      members.push(...(await expandArchive(member, budget, archiveDepth + 1)));
    }
  }
}

/**
 * Returns the bytes from which the zip's offsets count: the whole content for a zip at offset 0
 * or one whose offsets include its prefix, or the content after the prefix. Returns undefined
 * when the offsets point before the content's start.
 */
function zipBytesOf(content: Uint8Array): Buffer | undefined {
  const buffer = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const start = findPrefixedZip(content) ?? 0;
  return start < 0 ? undefined : buffer.subarray(start);
}

/** The name a member is scanned under, and whether the entry reads as a folder. */
interface ScannedName {
  name: string;
  folder: boolean;
}

/**
 * Names a member. A folder entry, whose name ends in `/`, is still read when it has data, because
 * a client may extract it as a file under another reading of the name. Examples are a header name
 * whose Info-ZIP Unicode Path field gives `docs/`, and `eicar.com\`, which yauzl turns into
 * `eicar.com/` although unzip on Linux extracts a file of that name. Such a member is named by
 * its header name.
 */
function toScannedName(entry: Entry): ScannedName {
  const name = decodeMemberName(entry, entry.extraFields);
  if (!name.endsWith('/')) {
    return { name, folder: false };
  }
  const headerName = decodeMemberName(entry, []).replace(/\/+$/, '');
  return { name: headerName === '' ? name : headerName, folder: true };
}

/**
 * Decodes the member name as CP437 or UTF-8 (bit 11, or the Info-ZIP Unicode Path field when
 * `extraFields` contains one), with backslashes turned into `/`.
 */
function decodeMemberName(entry: Entry, extraFields: Entry['extraFields']): string {
  return yauzl.getFileNameLowLevel(
    entry.generalPurposeBitFlag,
    entry.fileNameRaw,
    extraFields,
    false,
  );
}

/** Locates a member's bytes. yauzl checks the local header signature and the file bounds. */
async function readMemberRange(zipfile: ZipFile, entry: Entry): Promise<MemberRange> {
  const header = await zipfile.readLocalFileHeaderPromise(entry, { minimal: true });
  return {
    start: entry.relativeOffsetOfLocalHeader,
    dataStart: header.fileDataStart,
    end: header.fileDataStart + entry.compressedSize,
  };
}

/**
 * Checks a member's bytes against those of earlier members. Members that share bytes have no
 * legitimate use, because sharing is how a non-recursive zip bomb turns one compressed run into
 * thousands of members. The budget caps members per message, so the quadratic scan stays small.
 */
function overlapsAny(range: MemberRange, ranges: readonly MemberRange[]): boolean {
  return ranges.some((other) => range.start < other.end && other.start < range.end);
}

function toMemberPart(parent: ContentPart, path: string, name: string): ContentPart {
  const baseName = name.slice(name.lastIndexOf('/') + 1);
  return {
    path,
    contentType: 'application/octet-stream',
    filename: baseName === '' ? undefined : baseName,
    content: new Uint8Array(0),
    origin: 'archive',
    depth: parent.depth + 1,
  };
}

/**
 * Sets `member.content` from the compressed bytes. Returns false when a message-wide limit (decoded
 * bytes, deadline) stopped the read, so the caller stops reading further members.
 */
async function fillMember(
  member: ContentPart,
  entry: Entry,
  compressed: Buffer,
  info: ArchiveInfo,
  budget: ExtractionBudget,
): Promise<boolean> {
  if ((entry.generalPurposeBitFlag & FLAG_ENCRYPTED) !== 0) {
    member.encrypted = true;
    info.encrypted = true;
    return true;
  }

  if (entry.compressionMethod === METHOD_STORED) {
    if (!budget.tryDecode(compressed.length, member.path)) {
      return false;
    }
    member.content = compressed;
    return true;
  }

  if (entry.compressionMethod === METHOD_DEFLATED) {
    const outcome = await inflateMember(compressed, member.path, budget);
    member.content = outcome.content;
    return outcome.status !== 'stopped';
  }

  budget.report(
    'archive.unsupported-method',
    'unscannable',
    member.path,
    `zip compression method ${entry.compressionMethod} is not supported, member not scanned`,
  );
  return true;
}

interface InflateOutcome {
  /** `stopped`: a message-wide limit was reached. Other failures only cut this member short. */
  status: 'complete' | 'truncated' | 'stopped';
  content: Uint8Array;
}

/**
 * Inflates one member chunk by chunk, reserving each chunk from the budget, and stops as soon as
 * a limit is reached. What was inflated before the stop is kept, so engines still see the start.
 */
async function inflateMember(
  compressed: Buffer,
  path: string,
  budget: ExtractionBudget,
): Promise<InflateOutcome> {
  const maxRatio = budget.limits.maxCompressionRatio;
  const compressedBytes = Math.max(compressed.length, 1);
  const chunks: Buffer[] = [];
  let inflatedBytes = 0;
  let status: InflateOutcome['status'] = 'complete';

  const inflater = createInflateRaw();
  inflater.end(compressed);
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      inflatedBytes += chunk.length;
      if (inflatedBytes > RATIO_CHECK_FLOOR_BYTES && inflatedBytes > maxRatio * compressedBytes) {
        budget.report(
          'archive.compression-ratio',
          'policy',
          path,
          `zip member inflates more than ${maxRatio} times its compressed size (zip bomb)`,
        );
        status = 'truncated';
        break;
      }
      if (!budget.tryDecode(chunk.length, path) || !budget.checkDeadline(path)) {
        status = 'stopped';
        break;
      }
      chunks.push(chunk);
    }
  } catch {
    budget.report('archive.corrupt', 'unscannable', path, 'zip member has invalid deflate data');
    status = 'truncated';
  } finally {
    inflater.destroy();
  }
  return { status, content: Buffer.concat(chunks) };
}

/**
 * Records why a zip could not be read. PKWARE strong encryption (bit 6) makes yauzl stop listing,
 * so that zip is marked encrypted instead of reported as corrupt.
 */
function reportUnreadable(
  error: unknown,
  path: string,
  info: ArchiveInfo,
  budget: ExtractionBudget,
): void {
  if (error instanceof Error && /strong encryption/i.test(error.message)) {
    // NOTE: members listed after a strongly encrypted one are not read. The policy finding for an
    // encrypted archive still keeps the message from passing as clean.
    info.encrypted = true;
    return;
  }
  budget.report('archive.corrupt', 'unscannable', path, 'zip archive is corrupt or truncated');
}

function startsWith(content: Uint8Array, magic: readonly number[]): boolean {
  return hasMagicAt(content, 0, magic);
}

function hasMagicAt(content: Uint8Array, offset: number, magic: readonly number[]): boolean {
  return (
    offset >= 0 &&
    content.length >= offset + magic.length &&
    magic.every((byte, index) => content[offset + index] === byte)
  );
}
