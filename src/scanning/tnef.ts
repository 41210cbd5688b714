import { Buffer } from 'node:buffer';

import type { ExtractionBudget } from './extraction-budget.js';
import type { ContentPart } from './types.js';

/** First four bytes of every TNEF stream (0x223E9F78, little-endian). */
const TNEF_SIGNATURE = 0x223e9f78;
const TNEF_CONTENT_TYPES = new Set(['application/ms-tnef', 'application/vnd.ms-tnef']);

/**
 * Most attachments read from one TNEF stream. Each attribute costs only 11 bytes of overhead, so
 * a crafted stream could otherwise turn a few megabytes into hundreds of thousands of parts.
 */
const MAX_TNEF_ATTACHMENTS = 1000;

/**
 * Signature plus the 16-bit legacy key, which ties attachments to positions in an RTF body and is
 * not needed to read them.
 */
const STREAM_HEADER_BYTES = 6;
/** Attribute level byte, then 32-bit id and 32-bit length; a 16-bit checksum follows the data. */
const ATTRIBUTE_HEADER_BYTES = 9;
const CHECKSUM_BYTES = 2;

// Attribute ids, compared on their low 16 bits: the high 16 bits carry the attribute's data type,
// which some encoders get wrong.
const ATT_ATTACH_DATA = 0x800f;
const ATT_ATTACH_TITLE = 0x8010;
const ATT_ATTACH_TRANSPORT_FILENAME = 0x9001;
const ATT_ATTACH_REND_DATA = 0x9002;
const ATT_ATTACHMENT = 0x9005;

const LEVEL_ATTACHMENT = 0x02;

// MAPI property ids (PidTag*) read from attAttachment.
const PROP_DISPLAY_NAME = 0x3001;
const PROP_ATTACH_DATA = 0x3701;
const PROP_ATTACH_FILENAME = 0x3704;
const PROP_ATTACH_LONG_FILENAME = 0x3707;
const PROP_ATTACH_MIME_TAG = 0x370e;

// MAPI property types and their encoded sizes in a TNEF property list.
const TYPE_MULTIPLE_FLAG = 0x1000;
const TYPE_STRING8 = 0x001e;
const TYPE_UNICODE = 0x001f;
const TYPE_BINARY = 0x0102;
const TYPE_OBJECT = 0x000d;
/** PtypServerId (0x00FB) is encoded like binary. */
const VARIABLE_TYPES = new Set([TYPE_STRING8, TYPE_UNICODE, TYPE_BINARY, TYPE_OBJECT, 0x00fb]);
/** Encoded size of each fixed-size type; 16-bit values are padded to 4 bytes. */
const FIXED_TYPE_BYTES: ReadonlyMap<number, number> = new Map([
  [0x0001, 4], // PtypNull
  [0x0002, 4], // PtypInteger16
  [0x0003, 4], // PtypInteger32
  [0x0004, 4], // PtypFloating32
  [0x0005, 8], // PtypFloating64
  [0x0006, 8], // PtypCurrency
  [0x0007, 8], // PtypFloatingTime
  [0x000a, 4], // PtypErrorCode
  [0x000b, 4], // PtypBoolean
  [0x0014, 8], // PtypInteger64
  [0x0040, 8], // PtypTime
  [0x0048, 16], // PtypGuid
]);
/** Property ids from 0x8000 up are named properties, whose tag is followed by their name. */
const FIRST_NAMED_PROPERTY_ID = 0x8000;
/** A PT_OBJECT value starts with the 16-byte interface id (IID_IMessage for embedded messages). */
const INTERFACE_ID_BYTES = 16;

/** True for a part declared as TNEF (winmail.dat) or starting with the TNEF signature. */
export function isTnef(part: ContentPart): boolean {
  return TNEF_CONTENT_TYPES.has(part.contentType) || startsWithSignature(part.content);
}

/**
 * Reads the attachments of a TNEF stream (winmail.dat) as content parts, at
 * `${part.path}#tnef1`, `#tnef2`, ...
 *
 * The file name comes from PidTagAttachLongFilename, then PidTagAttachFilename, attAttachTitle,
 * attAttachTransportFilename and PidTagDisplayName. An embedded message comes out as its own
 * TNEF stream, typed `application/vnd.ms-tnef`, for the caller to open in turn. Every length is
 * checked against the bytes left. A broken stream is finding `tnef.corrupt`, and the attachments
 * read before the break are still returned. Attribute checksums are not verified, because a wrong
 * checksum leaves the structure readable. Message-level attributes, attMsgProps among them, are
 * skipped by their length.
 *
 * @see https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxtnef/
 */
export function extractTnef(part: ContentPart, budget: ExtractionBudget): ContentPart[] {
  const reader = new TnefReader(part, budget);
  reader.run();
  return reader.parts;
}

/** Facts read from one attachment's attributes and properties. */
interface PendingAttachment {
  title?: string;
  transportFilename?: string;
  longFilename?: string;
  attachFilename?: string;
  displayName?: string;
  mimeTag?: string;
  data?: Uint8Array;
}

/** Outcome of reading one attachment's data into a part. */
type EmitStatus = 'added' | 'skipped' | 'stopped';

class TnefReader {
  readonly parts: ContentPart[] = [];
  private readonly source: ContentPart;
  private readonly budget: ExtractionBudget;
  private readonly view: DataView;
  private pending: PendingAttachment | undefined;

  constructor(source: ContentPart, budget: ExtractionBudget) {
    this.source = source;
    this.budget = budget;
    const bytes = source.content;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): void {
    if (!startsWithSignature(this.source.content) || this.view.byteLength < STREAM_HEADER_BYTES) {
      this.reportCorrupt('TNEF signature or key missing');
      return;
    }
    if (this.readAttributes(STREAM_HEADER_BYTES)) {
      this.flush();
    }
  }

  /** Walks the attributes from `start`. Returns false when the walk stopped early. */
  private readAttributes(start: number): boolean {
    const length = this.view.byteLength;
    let offset = start;
    while (offset < length) {
      if (!this.budget.checkDeadline(this.source.path)) {
        return false;
      }
      if (length - offset < ATTRIBUTE_HEADER_BYTES + CHECKSUM_BYTES) {
        this.reportCorrupt('TNEF attribute header truncated');
        this.flush();
        return false;
      }
      const level = this.view.getUint8(offset);
      const id = this.view.getUint32(offset + 1, true) & 0xffff;
      const dataLength = this.view.getUint32(offset + 5, true);
      const dataStart = offset + ATTRIBUTE_HEADER_BYTES;
      if (dataLength > length - dataStart - CHECKSUM_BYTES) {
        this.reportCorrupt('TNEF attribute length runs past the end of the stream');
        this.flush();
        return false;
      }
      const data = this.source.content.subarray(dataStart, dataStart + dataLength);
      if (!this.handleAttribute(level, id, data)) {
        return false;
      }
      offset = dataStart + dataLength + CHECKSUM_BYTES;
    }
    return true;
  }

  /** Applies one attribute. Returns false when a limit stopped the read. */
  private handleAttribute(level: number, id: number, data: Uint8Array): boolean {
    if (id === ATT_ATTACH_REND_DATA) {
      // attAttachRendData opens the attribute group of the next attachment.
      if (this.flush() === 'stopped') {
        return false;
      }
      this.pending = {};
      return true;
    }
    if (level !== LEVEL_ATTACHMENT) {
      return true;
    }

    // Lenient: attachment attributes before any attAttachRendData still form an attachment.
    const attachment = (this.pending ??= {});
    switch (id) {
      case ATT_ATTACH_DATA:
        attachment.data = data;
        break;
      case ATT_ATTACH_TITLE:
        attachment.title = decodeString8(data);
        break;
      case ATT_ATTACH_TRANSPORT_FILENAME:
        attachment.transportFilename = decodeString8(data);
        break;
      case ATT_ATTACHMENT:
        this.applyProperties(attachment, data);
        break;
      default:
        break;
    }
    return true;
  }

  private applyProperties(attachment: PendingAttachment, data: Uint8Array): void {
    const properties = readPropertyList(data);
    if (!properties.complete) {
      this.reportCorrupt('TNEF attachment property list is malformed');
    }
    for (const property of properties.values) {
      applyProperty(attachment, property);
    }
  }

  /** Turns the pending attachment, if any, into a part. */
  private flush(): EmitStatus {
    const attachment = this.pending;
    this.pending = undefined;
    if (attachment === undefined) {
      return 'skipped';
    }
    const filename = chooseFilename(attachment);
    if (attachment.data === undefined && filename === undefined) {
      return 'skipped';
    }

    const path = `${this.source.path}#tnef${this.parts.length + 1}`;
    if (this.parts.length >= MAX_TNEF_ATTACHMENTS) {
      this.budget.report(
        'limit.tnef-attachments',
        'unscannable',
        this.source.path,
        `TNEF stream has more than ${MAX_TNEF_ATTACHMENTS} attachments`,
      );
      return 'stopped';
    }
    const content = attachment.data ?? new Uint8Array(0);
    if (!this.budget.tryDecode(content.length, path)) {
      return 'stopped';
    }
    this.parts.push({
      path,
      contentType: chooseContentType(attachment, content),
      filename,
      disposition: 'attachment',
      content,
      origin: 'tnef',
      depth: this.source.depth + 1,
    });
    return 'added';
  }

  private reportCorrupt(reason: string): void {
    this.budget.report('tnef.corrupt', 'unscannable', this.source.path, reason);
  }
}

/** One decoded MAPI property: strings decoded, binary and object values as bytes. */
interface MapiProperty {
  id: number;
  type: number;
  value: string | Uint8Array | undefined;
}

interface PropertyList {
  values: MapiProperty[];
  /** False when the list ended before its declared count or held an unknown type. */
  complete: boolean;
}

/**
 * Reads a counted MAPI property list (the data of attAttachment or attMsgProps). Each property
 * is a 32-bit tag (type in the low 16 bits, id in the high 16), a name for named properties, then
 * its value or values. Variable-length values are counted, sized and padded to 4 bytes.
 */
function readPropertyList(data: Uint8Array): PropertyList {
  const cursor = new ByteCursor(data);
  const values: MapiProperty[] = [];
  const count = cursor.readUint32();
  if (count === undefined) {
    return { values, complete: false };
  }
  for (let index = 0; index < count; index += 1) {
    const property = readProperty(cursor);
    if (property === undefined) {
      return { values, complete: false };
    }
    values.push(property);
  }
  return { values, complete: true };
}

function readProperty(cursor: ByteCursor): MapiProperty | undefined {
  const tag = cursor.readUint32();
  if (tag === undefined) {
    return undefined;
  }
  const type = tag & 0xffff;
  const id = tag >>> 16;
  if (id >= FIRST_NAMED_PROPERTY_ID && !skipPropertyName(cursor)) {
    return undefined;
  }

  const baseType = type & ~TYPE_MULTIPLE_FLAG;
  const isVariable = VARIABLE_TYPES.has(baseType);
  const fixedBytes = FIXED_TYPE_BYTES.get(baseType);
  if (!isVariable && fixedBytes === undefined) {
    return undefined;
  }

  // Variable-length values are always counted, even when the property has a single value.
  const multiple = (type & TYPE_MULTIPLE_FLAG) !== 0;
  const valueCount = multiple || isVariable ? cursor.readUint32() : 1;
  if (valueCount === undefined) {
    return undefined;
  }
  let first: Uint8Array | undefined;
  for (let index = 0; index < valueCount; index += 1) {
    const value = isVariable ? cursor.readSizedPadded() : cursor.readBytes(fixedBytes ?? 0);
    if (value === undefined) {
      return undefined;
    }
    first ??= value;
  }
  return { id, type: baseType, value: decodeValue(baseType, first) };
}

/** Skips the GUID, kind and id or Unicode name that follow a named property's tag. */
function skipPropertyName(cursor: ByteCursor): boolean {
  if (cursor.readBytes(16) === undefined) {
    return false;
  }
  const kind = cursor.readUint32();
  if (kind === 0) {
    return cursor.readUint32() !== undefined;
  }
  if (kind === 1) {
    return cursor.readSizedPadded() !== undefined;
  }
  return false;
}

function decodeValue(type: number, bytes: Uint8Array | undefined): MapiProperty['value'] {
  if (bytes === undefined) {
    return undefined;
  }
  if (type === TYPE_STRING8) {
    return decodeString8(bytes);
  }
  if (type === TYPE_UNICODE) {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return stripNul(buffer.toString('utf16le'));
  }
  if (type === TYPE_OBJECT) {
    return bytes.subarray(Math.min(INTERFACE_ID_BYTES, bytes.length));
  }
  return bytes;
}

function applyProperty(attachment: PendingAttachment, property: MapiProperty): void {
  const { id, value } = property;
  if (typeof value === 'string') {
    if (id === PROP_ATTACH_LONG_FILENAME) {
      attachment.longFilename = value;
    } else if (id === PROP_ATTACH_FILENAME) {
      attachment.attachFilename = value;
    } else if (id === PROP_DISPLAY_NAME) {
      attachment.displayName = value;
    } else if (id === PROP_ATTACH_MIME_TAG) {
      attachment.mimeTag = value;
    }
    return;
  }
  // attAttachData usually carries the bytes; the property is kept when it is the only source.
  if (id === PROP_ATTACH_DATA && value !== undefined && attachment.data === undefined) {
    attachment.data = value;
  }
}

function chooseFilename(attachment: PendingAttachment): string | undefined {
  const candidates = [
    attachment.longFilename,
    attachment.attachFilename,
    attachment.title,
    attachment.transportFilename,
    attachment.displayName,
  ];
  return candidates.find((name) => name !== undefined && name.trim() !== '');
}

function chooseContentType(attachment: PendingAttachment, content: Uint8Array): string {
  if (startsWithSignature(content)) {
    return 'application/vnd.ms-tnef';
  }
  const declared = attachment.mimeTag?.split(';')[0]?.trim().toLowerCase();
  if (declared && /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(declared)) {
    return declared;
  }
  return 'application/octet-stream';
}

/** 8-bit strings are in the message code page; Latin-1 keeps every byte and ASCII intact. */
function decodeString8(bytes: Uint8Array): string {
  return stripNul(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'));
}

function stripNul(text: string): string {
  const end = text.indexOf('\0');
  return end < 0 ? text : text.slice(0, end);
}

function startsWithSignature(content: Uint8Array): boolean {
  if (content.length < 4) {
    return false;
  }
  const view = new DataView(content.buffer, content.byteOffset, 4);
  return view.getUint32(0, true) === TNEF_SIGNATURE;
}

/** Little-endian reads that return undefined instead of reading past the end. */
class ByteCursor {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  readUint32(): number | undefined {
    if (this.bytes.length - this.offset < 4) {
      return undefined;
    }
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  readBytes(count: number): Uint8Array | undefined {
    if (this.bytes.length - this.offset < count) {
      return undefined;
    }
    const value = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return value;
  }

  /** Reads a 32-bit size, that many bytes, and padding to a 4-byte boundary (may be cut short). */
  readSizedPadded(): Uint8Array | undefined {
    const size = this.readUint32();
    if (size === undefined) {
      return undefined;
    }
    const value = this.readBytes(size);
    if (value === undefined) {
      return undefined;
    }
    this.offset = Math.min(this.bytes.length, this.offset + ((4 - (size % 4)) % 4));
    return value;
  }
}
