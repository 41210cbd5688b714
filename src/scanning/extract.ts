import type { ScanLimits } from '../config/settings.js';
import { looksLikeMbox, splitMbox } from '../shared/mbox.js';
import { containsZip, expandArchive, findPrefixedZip, isZip } from './archive.js';
import { detectUnsupportedArchive, expandGzip, isGzip } from './compressed.js';
import { ExtractionBudget } from './extraction-budget.js';
import { readHeaderBlock } from './header-block.js';
import { hasLoneCarriageReturn, readLoneCarriageReturnsAsLineFeeds } from './line-breaks.js';
import { decodeEncodedWords } from './header-decoding.js';
import { type MimeNode, type MimeParseFailure, parseMimeTree } from './mime-tree.js';
import { findAmbiguousStructure } from './structure-headers.js';
import { extractTnef, isTnef } from './tnef.js';
import {
  KNOWN_TRANSFER_ENCODINGS,
  normalizeTransferEncoding,
  UUENCODE_TRANSFER_ENCODINGS,
} from './transfer-encoding.js';
import type {
  ContentPart,
  Deadline,
  HeaderField,
  MessageView,
  ScanContext,
  TextBody,
} from './types.js';
import { decodeUuencodedLines, findUuencodedBlocks, MAX_UUENCODED_BLOCKS } from './uuencode.js';

const NESTED_MESSAGE_TYPES = new Set(['message/rfc822', 'message/global', 'message/news']);
const MBOX_TYPES = new Set(['application/mbox', 'application/x-mbox']);
const MBOX_FILENAME = /\.(?:mbox|mbx)$/i;
/** Mail clients open a file named `.eml` as an RFC 5322 message whatever its declared type. */
const MESSAGE_FILENAME = /\.eml$/i;
/** A line that may be a multipart delimiter, which a client may read parts behind. */
const DELIMITER_LIKE_LINE = /^--[!-~]/m;

/** Header fields of which at least one must appear for input to count as a message at all. */
const MESSAGE_HEADER_KEYS = new Set([
  'from', 'to', 'cc', 'subject', 'date', 'message-id', 'received', 'return-path', 'sender',
  'mime-version', 'content-type', 'delivered-to', 'reply-to', 'x-mailer',
]);

const PARSE_FAILURE_SIGNATURES: Readonly<Record<MimeParseFailure, string>> = {
  'mime-depth': 'limit.mime-depth',
  'mime-parts': 'limit.mime-parts',
  'header-bytes': 'limit.header-bytes',
  unparseable: 'mime.unparseable',
};

/** The extracted message plus what extraction itself found wrong with it. */
export interface Extraction {
  view: MessageView;
  budget: ExtractionBudget;
  /** Structural defects that do not change the verdict on their own, e.g. `unclosed-multipart`. */
  defects: string[];
}

/**
 * Opens every container of a message (MIME multiparts, nested messages, uuencode blocks, TNEF and
 * archives) and returns its leaves, text bodies and headers for the engines. Limit crossings and
 * unparseable structures are findings in `budget.findings`; this function does not throw on
 * hostile input.
 */
export async function extractMessage(
  raw: Uint8Array,
  limits: ScanLimits,
  deadline: Deadline,
  context: ScanContext = {},
): Promise<Extraction> {
  const walker = new MessageWalker(raw, limits, deadline, context);
  await walker.run();
  return { view: walker.toView(), budget: walker.budget, defects: walker.defects };
}

class MessageWalker {
  readonly budget: ExtractionBudget;
  readonly defects: string[] = [];
  private readonly raw: Uint8Array;
  private readonly limits: ScanLimits;
  private readonly context: ScanContext;
  private readonly parts: ContentPart[] = [];
  private readonly bodies: TextBody[] = [];
  private readonly nestedMessages: { path: string; headers: HeaderField[] }[] = [];
  private headers: HeaderField[] = [];
  private headerBytesUsed = 0;
  private partsUsed = 0;

  constructor(raw: Uint8Array, limits: ScanLimits, deadline: Deadline, context: ScanContext) {
    this.raw = raw;
    this.limits = limits;
    this.context = context;
    this.budget = new ExtractionBudget(limits, deadline);
  }

  async run(): Promise<void> {
    if (this.raw.length === 0) {
      this.budget.report('mime.empty', 'unscannable', '', 'the message is empty');
      return;
    }
    if (this.raw.length > this.limits.maxMessageBytes) {
      this.budget.report('limit.message-bytes', 'unscannable', '',
        `message exceeds ${this.limits.maxMessageBytes} bytes`);
      return;
    }
    const message = skipMboxFromLine(this.raw);
    const headers = await this.walkMessage(message, '', 0);
    if (headers === undefined) {
      // The full parse crossed a limit: the header block alone still names sender and subject.
      this.headers = readHeaderBlock(message);
      return;
    }
    this.headers = headers;
    if (!headers.some((field) => MESSAGE_HEADER_KEYS.has(field.key))) {
      this.budget.report('mime.not-a-message', 'unscannable', '',
        'no RFC 5322 header fields were found');
    }
  }

  toView(): MessageView {
    const subject = this.headers.find((field) => field.key === 'subject')?.value ?? '';
    return {
      raw: this.raw,
      context: this.context,
      headers: this.headers,
      subject,
      bodies: this.bodies,
      parts: this.parts,
      nestedMessages: this.nestedMessages,
      complete: this.budget.findings.length === 0,
    };
  }

  /** Parses one message level and visits its tree; returns its headers, or undefined on failure. */
  private async walkMessage(
    bytes: Uint8Array,
    prefix: string,
    depth: number,
  ): Promise<HeaderField[] | undefined> {
    const result = await parseMimeTree(bytes, {
      maxNestingDepth: Math.max(0, this.limits.maxMimeDepth - depth),
      maxHeadersSize: Math.max(1, this.limits.maxHeaderBytes - this.headerBytesUsed),
      maxPartCount: Math.max(1, this.limits.maxMimeParts - this.partsUsed),
    });
    if (!result.ok) {
      this.reportParseFailure(result.code, prefix);
      this.addUnparsedMessage(bytes, prefix, depth);
      return undefined;
    }
    this.headerBytesUsed += result.headerBytes;
    this.partsUsed += result.partCount;
    this.findUnclosedMultiparts(result.root, bytes);
    await this.visit(result.root, '', prefix, depth, findEpilogue(result.root, bytes));
    return result.root.headers.map(decodeHeader);
  }

  private reportParseFailure(code: MimeParseFailure, prefix: string): void {
    const reasons: Record<MimeParseFailure, string> = {
      'mime-depth': `MIME nesting deeper than ${this.limits.maxMimeDepth} levels`,
      'mime-parts': `more than ${this.limits.maxMimeParts} MIME parts`,
      'header-bytes': `headers larger than ${this.limits.maxHeaderBytes} bytes`,
      unparseable: 'the MIME structure could not be parsed',
    };
    this.budget.report(PARSE_FAILURE_SIGNATURES[code], 'unscannable', prefix, reasons[code]);
  }

  /**
   * Keeps a message level that could not be parsed as one opaque part, so that antivirus still
   * sees its raw bytes (an EICAR string in an over-nested message is still found).
   */
  private addUnparsedMessage(bytes: Uint8Array, prefix: string, depth: number): void {
    if (!this.budget.tryDecode(bytes.length, prefix)) {
      return;
    }
    this.parts.push({ path: prefix, contentType: 'message/rfc822', content: bytes, origin: 'mime', depth });
  }

  /** Visits a node and its children. `epilogue` is given for the root of a message only. */
  private async visit(
    node: MimeNode,
    localPath: string,
    prefix: string,
    depth: number,
    epilogue?: Uint8Array,
  ): Promise<void> {
    const path = joinPath(prefix, localPath || '1');
    if (!this.budget.checkDeadline(path)) {
      return;
    }
    this.checkStructureHeaders(node, path);
    if (node.contentType.multipart) {
      this.addTextOutsideParts(node, path, depth, epilogue);
      for (const [index, child] of node.childNodes.entries()) {
        const childPath = localPath ? `${localPath}.${index + 1}` : `${index + 1}`;
        await this.visit(child, childPath, prefix, depth);
      }
      return;
    }
    await this.visitLeaf(node, path, depth);
  }

  private async visitLeaf(node: MimeNode, path: string, depth: number): Promise<void> {
    const contentType = node.contentType.parsed.value.toLowerCase() || 'text/plain';
    const content = node.content ? new Uint8Array(node.content) : new Uint8Array(0);
    if (!this.budget.tryDecode(content.length, path)) {
      return;
    }

    if (NESTED_MESSAGE_TYPES.has(contentType)) {
      await this.visitNestedMessage(content, path, depth);
      return;
    }

    const part = toContentPart(node, contentType, content, path, depth);
    this.parts.push(part);
    const transferEncoding = normalizeTransferEncoding(node.contentTransferEncoding.value);
    if (UUENCODE_TRANSFER_ENCODINGS.has(transferEncoding)) {
      await this.addUuencodedTransfer(part);
    } else {
      this.checkTransferEncoding(transferEncoding, path);
      if (contentType === 'text/plain' || contentType === 'text/html') {
        await this.addTextBody(node, part, contentType === 'text/html' ? 'html' : 'plain');
      } else if (contentType.startsWith('text/')) {
        await this.addUuencodedBlocksOf(part);
      }
    }
    this.checkMissingBoundary(node, part);
    if (isMbox(part)) {
      await this.visitMbox(part, depth);
    }
    await this.openContainers(part);
  }

  /**
   * Reports a part whose Content-Transfer-Encoding is unknown even when read leniently as
   * `unscannable`, because its bytes were scanned undecoded and a client may decode them.
   */
  private checkTransferEncoding(transferEncoding: string, path: string): void {
    if (transferEncoding === '' || KNOWN_TRANSFER_ENCODINGS.has(transferEncoding)) {
      return;
    }
    this.defects.push('unknown-transfer-encoding');
    this.budget.report('encoding.unknown', 'unscannable', path,
      'a part has an unknown Content-Transfer-Encoding, so it was scanned undecoded');
  }

  /**
   * Records a header field or parameter that decides structure or decoding and occurs twice with
   * different values, or is an encoded-word. postal-mime takes the first copy and reads an
   * encoded-word literally. A client that takes another copy or decodes the word can split the
   * body differently, so the message is `unscannable` rather than scanned in one reading.
   */
  private checkStructureHeaders(node: MimeNode, path: string): void {
    const ambiguous = findAmbiguousStructure(node.headers);
    if (ambiguous === undefined) {
      return;
    }
    this.defects.push('ambiguous-structure-header');
    this.budget.report('mime.ambiguous-structure', 'unscannable', path,
      `${ambiguous}, so clients may read the part differently`);
  }

  /**
   * Handles a multipart Content-Type without a boundary parameter, which postal-mime reads as
   * text/plain (RFC 2045 section 5.2). The text was scanned, but when it contains a line that looks
   * like a delimiter, a client that guesses the boundary finds parts the scan never opened.
   */
  private checkMissingBoundary(node: MimeNode, part: ContentPart): void {
    const declared = node.headers.find((field) => field.key === 'content-type')?.value ?? '';
    if (!/^\s*multipart\//i.test(declared)) {
      return;
    }
    this.defects.push('multipart-without-boundary');
    if (DELIMITER_LIKE_LINE.test(Buffer.from(part.content).toString('latin1'))) {
      this.budget.report('mime.multipart-without-boundary', 'unscannable', part.path,
        'a multipart has no usable boundary but its body holds delimiter lines');
    }
  }

  /**
   * Adds the bytes of a multipart that lie outside its parts (preamble and epilogue, or the whole
   * body when no delimiter appears) as a part of origin `outside-parts`, so that antivirus scans
   * them. postal-mime feeds the preamble, and the epilogues of nested multiparts, to the
   * multipart node's own decoder, and drops the epilogue of a message's root, which the caller
   * passes in. A multipart with no parts whose body contains more than white space is
   * `unscannable`, because a client may show that body or find parts in it that the scan did not.
   */
  private addTextOutsideParts(node: MimeNode, path: string, depth: number, epilogue?: Uint8Array): void {
    let content = node.content ? new Uint8Array(node.content) : new Uint8Array(0);
    if (epilogue !== undefined && !isBlank(epilogue)) {
      content = Buffer.concat([content, epilogue]);
    }
    const blank = isBlank(content);
    if (node.childNodes.length === 0) {
      this.defects.push('multipart-without-parts');
      if (!blank) {
        this.budget.report('mime.multipart-without-parts', 'unscannable', path,
          'a multipart has no parts, so its body was not read as any part');
      }
    }
    if (blank || !this.budget.tryDecode(content.length, path)) {
      return;
    }
    this.parts.push({
      path: `${path}#outside-parts`,
      contentType: 'text/plain',
      content,
      origin: 'outside-parts',
      depth,
    });
  }

  /**
   * Reads an mbox attachment as the messages it contains, each a nested message at
   * `<path>#mbox<n>`, within the depth, part and size limits of the whole message.
   */
  private async visitMbox(part: ContentPart, depth: number): Promise<void> {
    for (const [index, message] of splitMbox(withoutLeadingLineBreaks(part.content)).entries()) {
      const path = `${part.path}#mbox${index + 1}`;
      if (this.partsUsed >= this.limits.maxMimeParts) {
        this.budget.report('limit.mime-parts', 'unscannable', path,
          `more than ${this.limits.maxMimeParts} MIME parts`);
        return;
      }
      if (!this.budget.checkDeadline(path)) {
        return;
      }
      await this.visitNestedMessage(message, path, depth);
    }
  }

  private async visitNestedMessage(content: Uint8Array, path: string, depth: number): Promise<void> {
    if (depth + 1 > this.limits.maxMimeDepth) {
      this.budget.report('limit.mime-depth', 'unscannable', path,
        `MIME nesting deeper than ${this.limits.maxMimeDepth} levels`);
      this.parts.push({ path, contentType: 'message/rfc822', content, origin: 'mime', depth });
      return;
    }
    const headers = await this.walkMessage(content, path, depth + 1);
    if (headers) {
      this.nestedMessages.push({ path, headers });
    }
    // The pipeline reads a top-level message with lone CRs twice. A nested message sent in base64
    // hides its lone CRs from that check, so its second reading, with every lone CR as a line
    // end, is walked here at `<path>#lf`.
    if (hasLoneCarriageReturn(content) && this.budget.checkDeadline(path)) {
      this.defects.push('bare-cr-line-ends');
      await this.walkMessage(readLoneCarriageReturnsAsLineFeeds(content), `${path}#lf`, depth + 1);
    }
  }

  private async addTextBody(node: MimeNode, part: ContentPart, type: TextBody['type']): Promise<void> {
    let text: string;
    try {
      text = node.getTextContent();
    } catch {
      // An unknown or broken charset must not lose the body: read it as UTF-8 with replacements.
      text = new TextDecoder('utf-8', { fatal: false }).decode(part.content);
      this.defects.push('undecodable-charset');
    }
    if (text.trim().length === 0) {
      return;
    }
    this.bodies.push({ path: part.path, type, text });
    if (text.includes('begin')) {
      await this.addUuencodedBlocks(part, text);
    }
  }

  /** Decodes uuencoded blocks in a text/* leaf that is not read as a body (text/csv, text/x-*). */
  private async addUuencodedBlocksOf(part: ContentPart): Promise<void> {
    const text = Buffer.from(part.content).toString('latin1');
    if (text.includes('begin')) {
      await this.addUuencodedBlocks(part, text);
    }
  }

  private async addUuencodedBlocks(part: ContentPart, text: string): Promise<void> {
    const { blocks, truncated } = findUuencodedBlocks(text);
    for (const [index, block] of blocks.entries()) {
      const path = `${part.path}#uu${index + 1}`;
      await this.addDecodedAttachment(part, path, block.filename, block.content);
    }
    if (truncated) {
      this.budget.report('limit.uuencoded-blocks', 'unscannable', part.path,
        `a text part has more than ${MAX_UUENCODED_BLOCKS} uuencoded blocks, so the rest were not scanned`);
    }
  }

  /** Decodes a part sent with Content-Transfer-Encoding x-uuencode, which postal-mime leaves encoded. */
  private async addUuencodedTransfer(part: ContentPart): Promise<void> {
    const text = Buffer.from(part.content).toString('latin1');
    if (findUuencodedBlocks(text).blocks.length > 0) {
      await this.addUuencodedBlocks(part, text);
      return;
    }
    const decoded = decodeUuencodedLines(text);
    await this.addDecodedAttachment(part, `${part.path}#uu1`, part.filename ?? '', decoded);
  }

  private async addDecodedAttachment(
    parent: ContentPart,
    path: string,
    filename: string,
    content: Uint8Array | undefined,
  ): Promise<void> {
    if (content === undefined) {
      this.budget.report('encoding.suspicious', 'unscannable', path,
        'a uuencoded block could not be decoded');
      return;
    }
    if (!this.budget.tryDecode(content.length, path)) {
      return;
    }
    const child: ContentPart = {
      path,
      contentType: 'application/octet-stream',
      filename: filename || undefined,
      content,
      origin: 'uuencode',
      depth: parent.depth,
    };
    this.parts.push(child);
    await this.openContainers(child);
  }

  /**
   * Opens TNEF, zip and gzip containers inside a part and adds their members as parts. An archive
   * in a format extraction cannot open is an `unscannable` finding, because its members go unread.
   */
  private async openContainers(part: ContentPart): Promise<void> {
    if (isNamedMessage(part)) {
      await this.visitNamedMessage(part);
    } else if (isTnef(part)) {
      await this.addMembers(extractTnef(part, this.budget));
    } else if (isZip(part.content)) {
      await this.addZipMembers(part);
    } else if (isGzip(part.content)) {
      if (part.depth >= this.limits.maxArchiveDepth) {
        this.budget.report('limit.archive-depth', 'unscannable', part.path,
          `archives nested deeper than ${this.limits.maxArchiveDepth} levels`);
        return;
      }
      await this.addMembers(expandGzip(part, this.budget));
    } else if (findPrefixedZip(part.content) !== undefined) {
      await this.addZipMembers(part);
    } else {
      const format = detectUnsupportedArchive(part.content);
      if (format) {
        this.budget.report('archive.unsupported', 'unscannable', part.path,
          `${format} archives cannot be opened, so their contents were not scanned`);
      }
    }
  }

  /**
   * Reads a part, archive member or TNEF attachment named `.eml` as a nested message at its own
   * path, within the depth, part and size limits of the whole message. The part itself stays in
   * the scan too, so antivirus and attachment policy still see its raw bytes and name.
   */
  private async visitNamedMessage(part: ContentPart): Promise<void> {
    if (this.partsUsed >= this.limits.maxMimeParts) {
      this.budget.report('limit.mime-parts', 'unscannable', part.path,
        `more than ${this.limits.maxMimeParts} MIME parts`);
      return;
    }
    if (this.budget.checkDeadline(part.path)) {
      await this.visitNestedMessage(part.content, part.path, part.depth);
    }
  }

  private async addZipMembers(part: ContentPart): Promise<void> {
    const members = await expandArchive(part, this.budget, 1);
    this.parts.push(...members);
    // expandArchive opens zips inside zips itself; other containers in members are opened here.
    for (const member of members) {
      if (!containsZip(member.content)) {
        await this.openContainers(member);
      }
    }
  }

  private async addMembers(members: ContentPart[]): Promise<void> {
    for (const member of members) {
      this.parts.push(member);
      await this.openContainers(member);
    }
  }

  /** Records multiparts whose closing delimiter never appears, as cPanel and broken spam tools send. */
  private findUnclosedMultiparts(root: MimeNode, bytes: Uint8Array): void {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const pending: MimeNode[] = [root];
    while (pending.length > 0) {
      const node = pending.pop() as MimeNode;
      const boundary = node.contentType.multipart ? node.contentType.parsed.params.boundary : undefined;
      if (boundary && buffer.indexOf(`--${boundary.trimEnd()}--`) < 0) {
        this.defects.push('unclosed-multipart');
        return;
      }
      pending.push(...node.childNodes);
    }
  }
}

function toContentPart(
  node: MimeNode,
  contentType: string,
  content: Uint8Array,
  path: string,
  depth: number,
): ContentPart {
  // Outlook and Gmail put RFC 2047 encoded-words inside quoted parameters, which RFC 2047 section
  // 5 forbids but every mail client decodes, so they are decoded here too.
  const declared =
    node.contentDisposition.parsed.params.filename || node.contentType.parsed.params.name || '';
  const filename = declared ? decodeEncodedWords(declared) : undefined;
  const rawFilename = findRawFilename(node);
  const disposition = node.contentDisposition.parsed.value.trim().toLowerCase() || undefined;
  return {
    path,
    contentType,
    filename,
    rawFilename: rawFilename !== undefined && rawFilename !== filename ? rawFilename : undefined,
    disposition,
    contentId: node.contentId,
    content,
    origin: 'mime',
    depth,
  };
}

/**
 * The header fields that name a file, in order of precedence, each with a pattern for its
 * parameter and RFC 2231 sections. `matchAll` copies a global pattern before it iterates, so the
 * shared patterns keep no state between calls.
 */
const RAW_FILENAME_PARAMETERS = [
  { key: 'content-disposition', pattern: rawParameterPattern('filename') },
  { key: 'content-type', pattern: rawParameterPattern('name') },
] as const;

function rawParameterPattern(name: string): RegExp {
  return new RegExp(`(?:^|;)\\s*${name}(?:\\*(\\d+))?\\*?\\s*=\\s*("[^"]*"|[^;\\s]*)`, 'gi');
}

/**
 * Reads the filename parameter as the sender wrote it, before RFC 2047 and RFC 2231 decoding, with
 * RFC 2231 continuations (`filename*0*=…; filename*1*=…`) joined in order, so that extension checks
 * also see the undecoded text.
 */
function findRawFilename(node: MimeNode): string | undefined {
  for (const { key, pattern } of RAW_FILENAME_PARAMETERS) {
    const header = node.headers.find((field) => field.key === key);
    if (!header) {
      continue;
    }
    const sections: { index: number; text: string }[] = [];
    for (const match of header.value.matchAll(pattern)) {
      sections.push({ index: Number(match[1] ?? 0), text: (match[2] ?? '').replace(/^"|"$/g, '') });
    }
    if (sections.length > 0) {
      sections.sort((a, b) => a.index - b.index);
      return sections.map((section) => section.text).join('');
    }
  }
  return undefined;
}

function decodeHeader(field: { key: string; value: string }): HeaderField {
  return { key: field.key.trim(), value: decodeEncodedWords(field.value) };
}

/**
 * Returns the bytes after the closing delimiter of a message's root multipart, which postal-mime
 * reads past without keeping. The closing delimiter is the first line that starts with it.
 */
function findEpilogue(root: MimeNode, bytes: Uint8Array): Uint8Array | undefined {
  const boundary = root.contentType.multipart ? root.contentType.parsed.params.boundary : undefined;
  if (!boundary) {
    return undefined;
  }
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const terminator = `--${boundary.trimEnd()}--`;
  let index = buffer.indexOf(terminator);
  while (index > 0 && buffer[index - 1] !== 0x0a) {
    index = buffer.indexOf(terminator, index + 1);
  }
  const lineEnd = index < 0 ? -1 : buffer.indexOf(0x0a, index);
  return lineEnd < 0 ? undefined : bytes.subarray(lineEnd + 1);
}

/**
 * Tests whether a part is named `.eml` and starts with a header field, so that a binary file or
 * plain text given that name is not parsed as a message.
 */
function isNamedMessage(part: ContentPart): boolean {
  return MESSAGE_FILENAME.test(part.filename ?? '') && readHeaderBlock(part.content).length > 0;
}

function isMbox(part: ContentPart): boolean {
  const named = MBOX_TYPES.has(part.contentType) || MBOX_FILENAME.test(part.filename ?? '');
  return named && looksLikeMbox(withoutLeadingLineBreaks(part.content));
}

/**
 * Returns the bytes after any leading CR and LF bytes. Python's mailbox module reads an mbox file
 * that starts with empty lines, so an mbox attachment may too.
 */
function withoutLeadingLineBreaks(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length && (bytes[start] === 0x0d || bytes[start] === 0x0a)) {
    start += 1;
  }
  return bytes.subarray(start);
}

/** Tests whether the bytes contain nothing but spaces, tabs and line breaks. */
function isBlank(bytes: Uint8Array): boolean {
  for (const byte of bytes) {
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0a) {
      return false;
    }
  }
  return true;
}

function joinPath(prefix: string, localPath: string): string {
  return prefix ? `${prefix}/${localPath}` : localPath;
}

/** Drops an mbox `From ` separator line at the start, which is no header and breaks parsing. */
function skipMboxFromLine(raw: Uint8Array): Uint8Array {
  const startsWithFrom =
    raw[0] === 0x46 && raw[1] === 0x72 && raw[2] === 0x6f && raw[3] === 0x6d && raw[4] === 0x20;
  if (!startsWithFrom) {
    return raw;
  }
  const newline = raw.indexOf(0x0a);
  return newline < 0 ? new Uint8Array(0) : raw.subarray(newline + 1);
}
