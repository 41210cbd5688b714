import PostalMime from 'postal-mime';

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

/**
 * postal-mime's parser with the steps after tree building switched off. `parse()` first builds the
 * node tree and then collects attachments, renders text and HTML and parses addresses for its
 * summary; extraction reads only the tree, so those steps are replaced by no-ops. The overridden
 * names are internal to postal-mime; if a release renames them, the originals run again, which is
 * slower but still correct, and a test reports the change.
 */
class TreeOnlyParser extends PostalMime {
  collectNode(): Promise<void> {
    return Promise.resolve();
  }

  renderTextContent(): void {}

  buildMessage(): Record<string, never> {
    return {};
  }

  encodeAttachments(): void {}
}

/** Names of the postal-mime steps that {@link TreeOnlyParser} replaces, for the test. */
export const SKIPPED_PARSER_STEPS = [
  'collectNode',
  'renderTextContent',
  'buildMessage',
  'encodeAttachments',
] as const;

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
