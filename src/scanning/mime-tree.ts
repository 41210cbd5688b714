import PostalMime, { type Email, type RawEmail } from 'postal-mime';

import { KNOWN_TRANSFER_ENCODINGS, normalizeTransferEncoding } from './transfer-encoding.js';

/**
 * The part of postal-mime's internal MIME node that extraction reads. postal-mime's public result
 * merges text parts into one body and hides part numbers, so extraction walks the node tree the
 * parser builds instead. The shape is checked at run time by {@link isMimeNode} and by a test, and
 * the package version is pinned exactly in package.json because this is not public API.
 */
export interface MimeNode {
  childNodes: MimeNode[];
  contentType: { value: string; parsed: StructuredHeader; multipart: string | false };
  contentTransferEncoding: { value: string; encoding: string };
  contentDisposition: { value: string; parsed: StructuredHeader };
  contentId?: string;
  headers: { key: string; value: string }[];
  content: ArrayBuffer | null;
  getTextContent(): string;
}

interface StructuredHeader {
  value: string;
  params: Record<string, string>;
}

interface ParserInternals {
  root: unknown;
  counters: { headerSize: number; partCount: number };
}

/** The parser state that {@link TreeOnlyParser} reads and sets. */
interface ParseInternals {
  started: boolean;
  buf: ArrayBuffer;
  av: Uint8Array;
  readPos: number;
  boundaries: unknown[];
  currentNode: { feed(line: Uint8Array, lineBreak: Uint8Array): boolean };
  resolveInput(input: RawEmail): Promise<ArrayBuffer>;
}

/** The line break given to a last line that has none, which no decoder changes. */
const LINE_FEED = new Uint8Array([0x0a]);

/** postal-mime's own line step, which {@link TreeOnlyParser.processLine} hands boundaries to. */
const stockProcessLine = Reflect.get(PostalMime.prototype, 'processLine') as (
  line: Uint8Array,
  lineBreak: Uint8Array,
  isFinal: boolean,
) => Promise<void>;

/**
 * postal-mime's parser reduced to building the node tree. postal-mime's `parse()` builds the tree
 * and then collects attachments, renders text and HTML and parses addresses for its summary.
 * Extraction reads only the tree, so `parse()` here stops after the line loop. The methods and
 * fields used are internal to postal-mime 4.2.0, whose version package.json pins exactly. A test
 * checks that they exist and that the tree's headers and content equal postal-mime's own.
 */
class TreeOnlyParser extends PostalMime {
  /** Backing value of {@link currentNode}, only declared, so no field initializer resets it. */
  declare private treeCurrentNode: unknown;

  /**
   * postal-mime assigns every node it creates to `currentNode`, the root in its constructor
   * included, before the node reads its headers and picks its body decoder. The setter prepares
   * each new node so that its decoder ends without a Blob and reads a quoted transfer encoding,
   * as {@link joinContentWithoutBlob} explains.
   */
  set currentNode(node: unknown) {
    joinContentWithoutBlob(node);
    this.treeCurrentNode = node;
  }

  get currentNode(): unknown {
    return this.treeCurrentNode;
  }

  /**
   * Runs the line loop of postal-mime's `parse()`, and awaits a line only when
   * {@link processLine} returned a promise for it. The steps after the loop build only the
   * summary, so the result is an empty object in its place.
   */
  override async parse(input: RawEmail): Promise<Email> {
    const internals = this as unknown as ParseInternals;
    if (internals.started) {
      throw new Error('TreeOnlyParser.parse was called twice: create a parser per message');
    }
    internals.started = true;
    internals.buf = await internals.resolveInput(input);
    internals.av = new Uint8Array(internals.buf);
    internals.readPos = 0;
    while (internals.readPos < internals.av.length) {
      const line = this.readLine();
      const pending = this.processLine(line.bytes, line.lineBreak, line.done);
      if (pending !== undefined) {
        await pending;
      }
    }
    return {} as Email;
  }

  /**
   * Reads the next line as postal-mime's `readLine` does, with a native search for its line feed
   * instead of a loop over every byte. The line excludes the carriage returns before the line
   * feed, and the line break returned is the bytes from them to the line feed. A last line
   * without a line feed gets one, as in postal-mime.
   */
  readLine(): { bytes: Uint8Array; lineBreak: Uint8Array; done: boolean } {
    const internals = this as unknown as ParseInternals;
    const { av } = internals;
    const start = internals.readPos;
    const lineFeed = av.indexOf(0x0a, start);
    let end = lineFeed < 0 ? av.length : lineFeed;
    while (end > start && av[end - 1] === 0x0d) {
      end -= 1;
    }
    const bytes = new Uint8Array(internals.buf, start, end - start);
    if (lineFeed < 0) {
      internals.readPos = av.length;
      return { bytes, lineBreak: LINE_FEED, done: true };
    }
    internals.readPos = lineFeed + 1;
    const lineBreak = av.subarray(end, lineFeed + 1);
    return { bytes, lineBreak, done: internals.readPos >= av.length };
  }

  /**
   * Feeds a line that cannot be a boundary to the current node without an async call. postal-mime
   * reads every line through `processLine`, an async method, although only boundaries and the
   * last line await anything. The condition below is the one with which postal-mime's
   * `processLine` looks for a boundary, and the rest is what it does for any other line.
   */
  processLine(
    line: Uint8Array,
    lineBreak: Uint8Array,
    isFinal: boolean,
  ): Promise<void> | undefined {
    const internals = this as unknown as ParseInternals;
    const mayBeBoundary =
      internals.boundaries.length > 0 && line.length > 2 && line[0] === 0x2d && line[1] === 0x2d;
    if (mayBeBoundary || isFinal) {
      return Reflect.apply(stockProcessLine, this, [line, lineBreak, isFinal]) as Promise<void>;
    }
    if (internals.currentNode.feed(line, lineBreak)) {
      return this.processLine(line, lineBreak, isFinal);
    }
    return undefined;
  }
}

/** Names of the postal-mime methods that {@link TreeOnlyParser} calls, for the test. */
export const PARSER_STEPS_USED = ['resolveInput', 'processLine'] as const;

/** A body decoder that writes into a ChunkWriter, as postal-mime's base64 and QP decoders do. */
interface ChunkWriterDecoder {
  output: { chunks: Uint8Array[]; flush(): void; finalize(): unknown };
}

/** postal-mime's decoder for 7bit, 8bit and binary bodies, which keeps ranges of the message. */
interface PassThroughDecoder {
  chunks: Uint8Array[];
  pendingLineBreak: Uint8Array | null;
  runEnd: number;
  continuesRun(bytes: Uint8Array): boolean;
  flushRun(): void;
  finalize(boundaryEnded?: boolean): unknown;
}

/**
 * Makes the body decoder of a postal-mime node end with one copy of its chunks into a new
 * ArrayBuffer. postal-mime's decoders end by joining their chunks in a `Blob` and reading it back
 * with `Blob.arrayBuffer()`, which in Node 20 runs through a stream and several promise steps for
 * every part. That took about a quarter of the tree parse over the SpamAssassin corpus. The node
 * gets its own `setupContentDecoder`, which wraps the decoder postal-mime creates and also reads a
 * Content-Transfer-Encoding such as `"base64"` leniently (see chooseTransferEncoding). The prototypes
 * stay as they are, so every other use of postal-mime is unchanged. The content is the same
 * bytes, joined in the same order. A node or decoder without the expected internals keeps
 * postal-mime's own ending, which is slower but still correct, and a test compares both endings.
 */
function joinContentWithoutBlob(node: unknown): void {
  if (typeof node !== 'object' || node === null || Object.hasOwn(node, 'setupContentDecoder')) {
    return;
  }
  const setup: unknown = Reflect.get(node, 'setupContentDecoder');
  if (typeof setup !== 'function') {
    return;
  }
  const setupWithoutBlob = function (
    this: { contentDecoder: unknown; contentTransferEncoding?: { value?: unknown } },
    encoding: string,
  ): void {
    Reflect.apply(setup, this, [chooseTransferEncoding(this.contentTransferEncoding?.value, encoding)]);
    endDecoderWithoutBlob(this.contentDecoder);
  };
  Reflect.set(node, 'setupContentDecoder', setupWithoutBlob);
}

/**
 * Picks the decoder's encoding. postal-mime's reading of the header wins when it is a known
 * encoding, and the lenient reading of the whole value (`"base64"`) when only that one is known.
 * When neither is known, postal-mime's reading keeps the bytes as they are.
 */
function chooseTransferEncoding(headerValue: unknown, postalEncoding: string): string {
  if (KNOWN_TRANSFER_ENCODINGS.has(postalEncoding) || typeof headerValue !== 'string') {
    return postalEncoding;
  }
  const lenient = normalizeTransferEncoding(headerValue);
  return KNOWN_TRANSFER_ENCODINGS.has(lenient) ? lenient : postalEncoding;
}

function endDecoderWithoutBlob(decoder: unknown): void {
  if (isChunkWriterDecoder(decoder)) {
    const { output } = decoder;
    output.finalize = () => {
      output.flush();
      return joinChunks(output.chunks);
    };
  } else if (isPassThroughDecoder(decoder)) {
    // The steps of postal-mime's PassThroughDecoder.finalize before its Blob: a part that the end
    // of the message ended keeps its last line break, one that a boundary ended does not.
    decoder.finalize = (boundaryEnded = false) => {
      const pending = decoder.pendingLineBreak;
      if (!boundaryEnded && pending) {
        if (decoder.continuesRun(pending)) {
          decoder.runEnd += pending.byteLength;
        } else {
          decoder.flushRun();
          decoder.chunks.push(pending);
        }
      }
      decoder.flushRun();
      return joinChunks(decoder.chunks);
    };
  }
}

function isChunkWriterDecoder(decoder: unknown): decoder is ChunkWriterDecoder {
  if (typeof decoder !== 'object' || decoder === null) {
    return false;
  }
  const output: unknown = Reflect.get(decoder, 'output');
  return (
    typeof output === 'object' &&
    output !== null &&
    Array.isArray(Reflect.get(output, 'chunks')) &&
    typeof Reflect.get(output, 'flush') === 'function' &&
    typeof Reflect.get(output, 'finalize') === 'function'
  );
}

function isPassThroughDecoder(decoder: unknown): decoder is PassThroughDecoder {
  if (typeof decoder !== 'object' || decoder === null) {
    return false;
  }
  const candidate = decoder as Partial<PassThroughDecoder>;
  return (
    Array.isArray(candidate.chunks) &&
    'pendingLineBreak' in candidate &&
    typeof candidate.runEnd === 'number' &&
    typeof candidate.continuesRun === 'function' &&
    typeof candidate.flushRun === 'function' &&
    typeof candidate.finalize === 'function'
  );
}

/** Copies the chunks in order into one new ArrayBuffer, like `new Blob(chunks).arrayBuffer()`. */
function joinChunks(chunks: readonly Uint8Array[]): ArrayBuffer {
  let length = 0;
  for (const chunk of chunks) {
    length += chunk.byteLength;
  }
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined.buffer;
}

/** Budgets a parse may spend. The caller subtracts what each parse used before the next one. */
export interface MimeParseLimits {
  maxNestingDepth: number;
  maxHeadersSize: number;
  maxPartCount: number;
}

/** A parsed MIME tree, or the reason it could not be built. */
export type MimeParseResult =
  | { ok: true; root: MimeNode; headerBytes: number; partCount: number }
  | { ok: false; code: MimeParseFailure; detail: string };

export type MimeParseFailure = 'mime-depth' | 'mime-parts' | 'header-bytes' | 'unparseable';

const LIMIT_CODES: Readonly<Record<string, MimeParseFailure>> = {
  EMAXNESTINGDEPTH: 'mime-depth',
  EMAXPARTCOUNT: 'mime-parts',
  EMAXHEADERSIZE: 'header-bytes',
};

/**
 * Parses one message (top level or nested) into its MIME node tree. Nested message/rfc822 parts are
 * left as leaves holding their raw bytes, because extraction recurses into them itself to number
 * their parts and to share one budget across all levels.
 */
export async function parseMimeTree(
  raw: Uint8Array,
  limits: MimeParseLimits,
): Promise<MimeParseResult> {
  const parser = new TreeOnlyParser({
    maxNestingDepth: limits.maxNestingDepth,
    maxHeadersSize: limits.maxHeadersSize,
    maxPartCount: limits.maxPartCount,
    maxRfc822NestingDepth: 0,
    forceRfc822Attachments: true,
    attachmentEncoding: 'arraybuffer',
  });
  try {
    await parser.parse(wholeArrayBuffer(raw) ?? raw);
  } catch (error: unknown) {
    const code = typeof error === 'object' && error !== null ? String(Reflect.get(error, 'code')) : '';
    return { ok: false, code: LIMIT_CODES[code] ?? 'unparseable', detail: code || 'parse failed' };
  }

  const internals = parser as unknown as ParserInternals;
  if (!isMimeNode(internals.root)) {
    return { ok: false, code: 'unparseable', detail: 'postal-mime node tree has an unexpected shape' };
  }
  return {
    ok: true,
    root: internals.root,
    headerBytes: internals.counters?.headerSize ?? 0,
    partCount: internals.counters?.partCount ?? 1,
  };
}

/**
 * Returns the view's ArrayBuffer when the view covers all of it. postal-mime copies a typed array
 * into a new ArrayBuffer but reads an ArrayBuffer in place, which saves a copy of every message
 * (100 MB for a 100 MB message). postal-mime only reads its input.
 */
function wholeArrayBuffer(raw: Uint8Array): ArrayBuffer | undefined {
  const { buffer } = raw;
  if (buffer instanceof ArrayBuffer && raw.byteOffset === 0 && raw.byteLength === buffer.byteLength) {
    return buffer;
  }
  return undefined;
}

/** Checks the fields extraction relies on, so a postal-mime upgrade fails loudly, not silently. */
export function isMimeNode(value: unknown): value is MimeNode {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const node = value as Partial<MimeNode>;
  return (
    Array.isArray(node.childNodes) &&
    typeof node.contentType?.parsed?.value === 'string' &&
    typeof node.contentDisposition?.parsed?.value === 'string' &&
    Array.isArray(node.headers) &&
    typeof node.getTextContent === 'function'
  );
}
