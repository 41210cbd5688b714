import { gunzipSync } from 'node:zlib';

import type { ExtractionBudget } from './extraction-budget.js';
import type { ContentPart } from './types.js';

const MIB = 1024 * 1024;

/** Compressed or archive formats that extraction cannot open, by their leading bytes. */
const UNSUPPORTED_FORMATS: readonly { name: string; magic: readonly number[]; offset?: number }[] = [
  { name: 'RAR', magic: [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07] },
  { name: '7-Zip', magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { name: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  // "BZh" and a block size digit; the digit keeps text that starts with "BZh" from matching.
  ...[0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39].map((digit) => ({
    name: 'bzip2',
    magic: [0x42, 0x5a, 0x68, digit],
  })),
  { name: 'cabinet', magic: [0x4d, 0x53, 0x43, 0x46, 0x00, 0x00, 0x00, 0x00] },
  { name: 'ACE', magic: [0x2a, 0x2a, 0x41, 0x43, 0x45, 0x2a, 0x2a], offset: 7 },
  { name: 'tar', magic: [0x75, 0x73, 0x74, 0x61, 0x72], offset: 257 },
];

/** True for gzip data (RFC 1952 magic bytes and the deflate method). */
export function isGzip(content: Uint8Array): boolean {
  return content[0] === 0x1f && content[1] === 0x8b && content[2] === 0x08;
}

/** Names the archive format of `content` when extraction cannot open it, else undefined. */
export function detectUnsupportedArchive(content: Uint8Array): string | undefined {
  for (const format of UNSUPPORTED_FORMATS) {
    const offset = format.offset ?? 0;
    if (format.magic.every((byte, index) => content[offset + index] === byte)) {
      return format.name;
    }
  }
  return undefined;
}

/**
 * Decompresses a gzip part into one member part (`path!name`, the part's name without `.gz`).
 * Output is capped by the compression-ratio limit (once past 1 MiB) and by what is left of the
 * message's decoded-bytes budget. Crossing either is a finding, and then no member is returned.
 */
export function expandGzip(part: ContentPart, budget: ExtractionBudget): ContentPart[] {
  const ratioCap = Math.max(MIB, budget.limits.maxCompressionRatio * part.content.length);
  const budgetCap = Math.max(0, budget.limits.maxDecodedBytes - budget.decodedBytes);
  let output: Buffer;
  try {
    output = gunzipSync(part.content, { maxOutputLength: Math.max(1, Math.min(ratioCap, budgetCap)) });
  } catch (error: unknown) {
    const code = typeof error === 'object' && error !== null ? Reflect.get(error, 'code') : undefined;
    if (code === 'ERR_BUFFER_TOO_LARGE' && ratioCap <= budgetCap) {
      budget.report('archive.compression-ratio', 'policy', part.path,
        `gzip data expands more than ${budget.limits.maxCompressionRatio} times`);
    } else if (code === 'ERR_BUFFER_TOO_LARGE') {
      budget.tryDecode(budgetCap + 1, part.path);
    } else {
      budget.report('archive.corrupt', 'unscannable', part.path, 'gzip data could not be decompressed');
    }
    return [];
  }
  if (!budget.tryDecode(output.length, part.path)) {
    return [];
  }
  const name = (part.filename ?? 'data.gz').replace(/\.(gz|gzip|tgz)$/i, (suffix) =>
    suffix.toLowerCase() === '.tgz' ? '.tar' : '',
  );
  return [
    {
      path: `${part.path}!${name}`,
      contentType: 'application/octet-stream',
      filename: name,
      content: new Uint8Array(output.buffer, output.byteOffset, output.byteLength),
      origin: 'archive',
      depth: part.depth + 1,
    },
  ];
}
