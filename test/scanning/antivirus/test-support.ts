import { Buffer } from 'node:buffer';

import type { ScanLimits } from '../../../src/config/settings.js';
import { createDeadline } from '../../../src/scanning/deadline.js';
import { ExtractionBudget } from '../../../src/scanning/extraction-budget.js';
import type { ContentPart, MessageView, TextBody } from '../../../src/scanning/types.js';

const MIB = 1024 * 1024;

/** The EICAR test string, stored reversed so this file is not itself flagged by antivirus. */
export const EICAR = '*H+H$!ELIF-TSET-SURIVITNA-DRADNATS-RACIE$}7)CC7)^P(45XZP\\4[PA@%P!O5X'
  .split('')
  .reverse()
  .join('');

/** The default limits of the settings module. */
export const DEFAULT_LIMITS: ScanLimits = {
  maxMessageBytes: 150 * MIB,
  maxMimeDepth: 32,
  maxMimeParts: 5000,
  maxHeaderBytes: 2 * MIB,
  maxDecodedBytes: 400 * MIB,
  maxArchiveDepth: 4,
  maxArchiveMembers: 1000,
  maxCompressionRatio: 100,
  maxHtmlBytes: 8 * MIB,
  scanTimeoutMs: 30_000,
};

/** Creates a budget with the default limits, some of them overridden. */
export function createBudget(overrides: Partial<ScanLimits> = {}): ExtractionBudget {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  return new ExtractionBudget(limits, createDeadline(limits.scanTimeoutMs));
}

/** Builds a top-level MIME attachment at path `2`, with any field overridden. */
export function makePart(fields: Partial<ContentPart> = {}): ContentPart {
  return {
    path: '2',
    contentType: 'application/octet-stream',
    content: new Uint8Array(0),
    origin: 'mime',
    depth: 0,
    ...fields,
  };
}

/** Builds a message view with only the given parts and bodies. */
export function makeView(parts: ContentPart[], bodies: TextBody[] = []): MessageView {
  return {
    raw: new Uint8Array(0),
    context: {},
    headers: [],
    subject: '',
    bodies,
    parts,
    nestedMessages: [],
    complete: true,
  };
}

/** Builds the smallest bytes that file-type and the PE check accept as a Windows executable. */
export function peStub(): Buffer {
  const stub = Buffer.alloc(256);
  stub.write('MZ', 0, 'latin1');
  stub.writeUInt32LE(0x80, 0x3c);
  stub.write('PE\0\0', 0x80, 'latin1');
  return stub;
}

/** Builds the first bytes of a 64-bit little-endian ELF executable. */
export function elfStub(): Buffer {
  const stub = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01]).copy(stub);
  return stub;
}

/** Returns the signatures of findings, in order. */
export function signaturesOf(findings: readonly { signature: string }[]): string[] {
  return findings.map((finding) => finding.signature);
}
