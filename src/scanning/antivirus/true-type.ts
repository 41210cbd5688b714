import { type FileTypeResult, fileTypeFromBuffer } from 'file-type';

/** file-type reads magic numbers from the start of a file, and 4 KiB covers the types used here. */
const SNIFF_BYTES = 4096;

/** Offset of e_lfanew, the 32-bit pointer from the DOS header to the PE header. */
const PE_POINTER_OFFSET = 0x3c;

/** The kind of risky content found by magic bytes, regardless of the file name. */
export interface TrueType {
  /** file-type's extension (`exe`, `elf`, `macho`, `lnk`, `chm`) or `script` for a shebang. */
  ext: string;
  /** `binary` runs natively, `script` runs in an interpreter, `shell` opens something that runs. */
  kind: 'binary' | 'script' | 'shell';
}

const BINARY_TYPES: ReadonlySet<string> = new Set(['exe', 'elf', 'macho']);
const SHELL_TYPES: ReadonlySet<string> = new Set(['lnk', 'chm']);

/**
 * Detects executables (PE, ELF, Mach-O), shebang scripts, Windows shortcuts and compiled HTML
 * help by their magic bytes. Returns undefined for anything else, including content too short to
 * tell. A cheap check of the first bytes skips file-type for the common case of no match.
 */
export async function detectTrueType(content: Uint8Array): Promise<TrueType | undefined> {
  if (!needsFileType(content)) {
    return detectShebangScript(content);
  }

  const detected = await sniffFileType(content);
  if (detected === undefined) {
    return undefined;
  }
  if (detected.ext === 'exe' && !hasPeHeader(content)) {
    // A bare "MZ" can also start plain text. Only a PE image runs on current Windows.
    return undefined;
  }
  if (BINARY_TYPES.has(detected.ext)) {
    return { ext: detected.ext, kind: 'binary' };
  }
  if (SHELL_TYPES.has(detected.ext)) {
    return { ext: detected.ext, kind: 'shell' };
  }
  return undefined;
}

/**
 * Tests whether {@link detectTrueType} would run file-type on the content: its first bytes may
 * start an executable, shortcut or help file, and it is no shebang script.
 */
export function needsFileType(content: Uint8Array): boolean {
  return !isShebangScript(content) && mayBeExecutable(content);
}

/**
 * Returns the result of {@link detectTrueType} for content that {@link needsFileType} rejects,
 * without a promise: a shebang script, or undefined.
 */
export function detectShebangScript(content: Uint8Array): TrueType | undefined {
  return isShebangScript(content) ? { ext: 'script', kind: 'script' } : undefined;
}

/** Runs file-type on the first bytes. A detector that fails on hostile bytes counts as no match. */
async function sniffFileType(content: Uint8Array): Promise<FileTypeResult | undefined> {
  try {
    return await fileTypeFromBuffer(content.subarray(0, SNIFF_BYTES));
  } catch {
    return undefined;
  }
}

/** First bytes of PE (`MZ`), ELF, Mach-O (both byte orders, and fat), LNK and CHM (`ITSF`). */
function mayBeExecutable(content: Uint8Array): boolean {
  if (content.length < 4) {
    return false;
  }
  const [b0, b1, b2, b3] = content;
  return (
    (b0 === 0x4d && b1 === 0x5a) ||
    (b0 === 0x7f && b1 === 0x45 && b2 === 0x4c && b3 === 0x46) ||
    (b0 === 0xfe && b1 === 0xed && b2 === 0xfa) ||
    (b1 === 0xfa && b2 === 0xed && b3 === 0xfe) ||
    (b0 === 0xca && b1 === 0xfe && b2 === 0xba && b3 === 0xbe) ||
    (b0 === 0x4c && b1 === 0x00 && b2 === 0x00 && b3 === 0x00) ||
    (b0 === 0x49 && b1 === 0x54 && b2 === 0x53 && b3 === 0x46)
  );
}

function hasPeHeader(content: Uint8Array): boolean {
  if (content.length < PE_POINTER_OFFSET + 4) {
    return false;
  }
  const view = new DataView(content.buffer, content.byteOffset, content.byteLength);
  const peOffset = view.getUint32(PE_POINTER_OFFSET, true);
  if (peOffset > content.length - 4) {
    return false;
  }
  return view.getUint32(peOffset, false) === 0x50450000;
}

/** `#!` followed by an absolute interpreter path, as in `#!/bin/sh` or `#! /usr/bin/env node`. */
function isShebangScript(content: Uint8Array): boolean {
  if (content.length < 3 || content[0] !== 0x23 || content[1] !== 0x21) {
    return false;
  }
  let index = 2;
  while (index < content.length && index < 16 && content[index] === 0x20) {
    index += 1;
  }
  return content[index] === 0x2f;
}
