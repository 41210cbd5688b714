import { Buffer } from 'node:buffer';

import type { ContentPart } from '../types.js';
import type { Detection } from './detection.js';
import { extensionOf } from './file-names.js';

/** Extensions a browser opens as a page that can run script. */
const HTML_EXTENSIONS: ReadonlySet<string> = new Set(['htm', 'html', 'shtml', 'xhtml', 'svg']);

/**
 * Shortest base64 run counted as an embedded payload, in characters. 1,000 characters carry
 * 750 bytes, smaller than any useful dropper yet longer than tokens, hashes or inline icons.
 */
const MIN_PAYLOAD_BASE64_CHARS = 1000;

/** Data URIs of media types that pages embed for display, not as a download. */
const DISPLAY_DATA_URI = /data:(?:image|font|audio|video)\/[\w.+-]*;base64,$/;

/**
 * An anchor with a download attribute. The tag body stops at the next `<`, so every character is
 * scanned by at most one match attempt.
 */
const DOWNLOAD_LINK = /<a\s[^<>]{0,1000}\bdownload\b/;

/** How far back from a base64 run to look for its `data:...;base64,` prefix, in characters. */
const DATA_URI_LOOKBEHIND_CHARS = 64;

/**
 * Flags HTML smuggling: an HTML or SVG attachment with a script that carries a long base64
 * payload or assembles a file in the browser. Assembly means a Blob or atob() together with a save
 * trigger such as createObjectURL, msSaveOrOpenBlob or a download attribute. Message bodies are
 * not checked, because the attack needs the recipient to open the file locally.
 */
export function detectHtmlSmuggling(
  part: ContentPart,
  names: readonly string[],
): Detection | undefined {
  if (!isHtmlAttachment(part, names) || part.content.length === 0) {
    return undefined;
  }
  const html = Buffer.from(part.content.buffer, part.content.byteOffset, part.content.byteLength)
    .toString('latin1')
    .toLowerCase();
  const scripts = extractScripts(html);
  if (scripts === undefined) {
    return undefined;
  }

  if (hasPayloadRun(html)) {
    return smuggling(part.path, 'HTML attachment with a script carries a long base64 payload');
  }
  if (assemblesFile(scripts, html)) {
    return smuggling(part.path, 'HTML attachment builds a file for download in the browser');
  }
  return undefined;
}

function isHtmlAttachment(part: ContentPart, names: readonly string[]): boolean {
  if (names.some((name) => HTML_EXTENSIONS.has(extensionOf(name) ?? ''))) {
    return true;
  }
  const isHtml = part.contentType === 'text/html' || part.contentType === 'image/svg+xml';
  return isHtml && (part.disposition === 'attachment' || names.length > 0);
}

/**
 * Returns the text of every script element joined, or undefined when there is none. A script
 * without an end tag runs to the end of the document, as browsers parse it. Linear in the input:
 * a regular expression with a lazy body would rescan to the end for every unclosed tag.
 */
function extractScripts(html: string): string | undefined {
  const bodies: string[] = [];
  let position = html.indexOf('<script');
  while (position >= 0) {
    const openEnd = html.indexOf('>', position);
    if (openEnd < 0) {
      break;
    }
    const close = html.indexOf('</script', openEnd);
    bodies.push(html.slice(openEnd + 1, close < 0 ? html.length : close));
    if (close < 0) {
      break;
    }
    position = html.indexOf('<script', close);
  }
  return bodies.length > 0 ? bodies.join('\n') : undefined;
}

/** Finds a base64 run of the payload length that is not an image, font or media data URI. */
function hasPayloadRun(html: string): boolean {
  let runStart = 0;
  for (let index = 0; index <= html.length; index += 1) {
    if (index < html.length && isBase64Char(html.charCodeAt(index))) {
      continue;
    }
    if (index - runStart >= MIN_PAYLOAD_BASE64_CHARS && !isDisplayDataUri(html, runStart)) {
      return true;
    }
    runStart = index + 1;
  }
  return false;
}

function isDisplayDataUri(html: string, runStart: number): boolean {
  const prefix = html.slice(Math.max(0, runStart - DATA_URI_LOOKBEHIND_CHARS), runStart);
  return DISPLAY_DATA_URI.test(prefix);
}

/** Base64 and base64url alphabets plus padding. The HTML is lower-cased, so A-Z never appear. */
function isBase64Char(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2b || // +
    code === 0x2f || // /
    code === 0x3d || // =
    code === 0x2d || // -
    code === 0x5f // _
  );
}

function assemblesFile(scripts: string, html: string): boolean {
  if (scripts.includes('mssaveoropenblob') || scripts.includes('mssaveblob')) {
    return true;
  }
  const buildsBytes = scripts.includes('new blob') || scripts.includes('atob(');
  const savesFile =
    scripts.includes('createobjecturl') ||
    scripts.includes('.download') ||
    scripts.includes("'download'") ||
    scripts.includes('"download"') ||
    DOWNLOAD_LINK.test(html);
  return buildsBytes && savesFile;
}

function smuggling(mimePath: string, reason: string): Detection {
  return { category: 'malware', signature: 'Html.Smuggling', reason, mimePath };
}
