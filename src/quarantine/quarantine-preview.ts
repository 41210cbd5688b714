import { fileTypeFromBuffer } from 'file-type';
import { Parser } from 'htmlparser2';

import type { ScanLimits } from '../config/settings.js';
import { createDeadline } from '../scanning/deadline.js';
import { extractMessage } from '../scanning/extract.js';
import type { ContentPart, Finding, MessageView } from '../scanning/types.js';

/**
 * A safe preview of a quarantined message: text only. HTML is never returned; when a message has
 * no plain-text body, the text of its HTML body is extracted with scripts and styles dropped.
 * Every string and list is bounded, so a hostile message cannot make the response large.
 */

/** Most header fields returned. */
export const MAX_PREVIEW_HEADERS = 200;
/** Maximum header value length returned, in characters. */
export const MAX_PREVIEW_HEADER_CHARS = 2000;
/** Maximum body text length returned, in characters. */
export const MAX_PREVIEW_BODY_CHARS = 64 * 1024;
/** Most attachments listed. */
export const MAX_PREVIEW_ATTACHMENTS = 500;
/** Most HTML characters converted to text when there is no plain-text body. */
const MAX_HTML_INPUT_CHARS = 2 * 1024 * 1024;
/** Bytes file-type reads to tell an attachment's true type. */
const SNIFF_BYTES = 4100;

/** One attachment or other non-body part, with its declared and detected types. */
export interface PreviewAttachment {
  /** MIME path (`2`, `2/1`, `2!docs/a.exe`). */
  path: string;
  filename?: string;
  /** Content type the message declares. */
  declaredType: string;
  /** Media type found from the content's magic bytes, when file-type recognises it. */
  detectedType?: string;
  /** Extension that goes with `detectedType`. */
  detectedExtension?: string;
  size: number;
  /** Signatures of the verdict's findings at this path or inside it. */
  findings: string[];
}

/** The preview returned next to an item's metadata. */
export interface MessagePreview {
  headers: { name: string; value: string }[];
  /** `plain` when taken from a text/plain body, `html-text` when extracted from HTML. */
  bodyKind: 'plain' | 'html-text' | 'none';
  body: string;
  bodyTruncated: boolean;
  attachments: PreviewAttachment[];
  /** False when extraction stopped at a limit, so parts may be missing. */
  complete: boolean;
}

/**
 * Builds a preview of `raw` with the scan limits. Extraction does not throw on hostile input, so
 * this function does not either, except when the scan deadline code itself fails.
 */
export async function buildPreview(
  raw: Uint8Array,
  findings: readonly Finding[],
  limits: ScanLimits,
): Promise<MessagePreview> {
  const { view } = await extractMessage(raw, limits, createDeadline(limits.scanTimeoutMs));
  const headers = view.headers.slice(0, MAX_PREVIEW_HEADERS).map((field) => ({
    name: field.key,
    value: field.value.slice(0, MAX_PREVIEW_HEADER_CHARS),
  }));
  const { kind, text } = previewBody(view);
  const attachments: PreviewAttachment[] = [];
  for (const part of view.parts) {
    if (attachments.length >= MAX_PREVIEW_ATTACHMENTS) {
      break;
    }
    if (isBodyPart(part, view) || part.origin === 'outside-parts') {
      continue;
    }
    attachments.push(await toAttachment(part, findings));
  }
  return {
    headers,
    bodyKind: kind,
    body: text.slice(0, MAX_PREVIEW_BODY_CHARS),
    bodyTruncated: text.length > MAX_PREVIEW_BODY_CHARS,
    attachments,
    complete: view.complete,
  };
}

function previewBody(view: MessageView): { kind: MessagePreview['bodyKind']; text: string } {
  // Only the top-level message's bodies; a nested message's body is an attachment's content.
  const topLevel = view.bodies.filter((body) => !body.path.includes('/'));
  const plain = topLevel.find((body) => body.type === 'plain');
  if (plain !== undefined) {
    return { kind: 'plain', text: plain.text };
  }
  const html = topLevel.find((body) => body.type === 'html');
  if (html !== undefined) {
    return { kind: 'html-text', text: htmlToText(html.text.slice(0, MAX_HTML_INPUT_CHARS)) };
  }
  return { kind: 'none', text: '' };
}

/** Extracts the text of an HTML document, leaving out script, style and other non-text elements. */
export function htmlToText(html: string): string {
  const skipped = new Set(['script', 'style', 'head', 'title', 'template', 'noscript', 'svg']);
  const blocks = new Set(['p', 'div', 'br', 'li', 'tr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
  let skipDepth = 0;
  const chunks: string[] = [];
  const parser = new Parser(
    {
      onopentag(name) {
        if (skipped.has(name)) {
          skipDepth += 1;
        } else if (blocks.has(name)) {
          chunks.push('\n');
        }
      },
      onclosetag(name) {
        if (skipped.has(name) && skipDepth > 0) {
          skipDepth -= 1;
        }
      },
      ontext(text) {
        if (skipDepth === 0) {
          chunks.push(text);
        }
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return chunks
    .join('')
    .replace(/[ \t\u00a0]+/g, ' ')
    .replace(/\n\s*\n+/g, '\n\n')
    .trim();
}

/** True for the parts that are the top-level text bodies shown in `body`. */
function isBodyPart(part: ContentPart, view: MessageView): boolean {
  if (part.filename !== undefined || part.origin !== 'mime' || part.disposition === 'attachment') {
    return false;
  }
  return view.bodies.some((body) => body.path === part.path);
}

async function toAttachment(
  part: ContentPart,
  findings: readonly Finding[],
): Promise<PreviewAttachment> {
  const detected = await detectType(part.content);
  return {
    path: part.path,
    filename: part.filename,
    declaredType: part.contentType,
    detectedType: detected?.mime,
    detectedExtension: detected?.ext,
    size: part.content.byteLength,
    findings: findings
      .filter((finding) => isAtOrInside(finding.mimePath, part.path))
      .map((finding) => finding.signature),
  };
}

async function detectType(content: Uint8Array): Promise<{ mime: string; ext: string } | undefined> {
  try {
    return await fileTypeFromBuffer(content.subarray(0, SNIFF_BYTES));
  } catch {
    // A malformed header can make a detector throw; the type is then simply unknown.
    return undefined;
  }
}

/** True when `findingPath` is `partPath` or a path inside it (`2/1`, `2!a.exe`, `2#uu1`). */
function isAtOrInside(findingPath: string, partPath: string): boolean {
  if (findingPath === partPath) {
    return true;
  }
  return ['/', '!', '#', '.'].some((separator) => findingPath.startsWith(partPath + separator));
}
