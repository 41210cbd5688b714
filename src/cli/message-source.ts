import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

import { looksLikeMbox, splitMbox } from './mbox.js';

/** Extensions read as mail when a folder is walked. Files without an extension are read too. */
const MAIL_EXTENSIONS = new Set(['.eml', '.txt', '.msg822', '.mbox', '.mbx', '.mail']);

/** One message read from disk, or the reason a file could not be read. */
export type SourceMessage =
  | { source: string; raw: Uint8Array }
  | { source: string; error: string };

/** Options for {@link readMessages}. */
export interface ReadMessagesOptions {
  /** Files larger than this are reported as unreadable instead of being loaded, in bytes. */
  maxFileBytes: number;
}

/**
 * Lists the mail files under the given paths: a file as it is, a folder recursively (sorted, so
 * reports are stable), keeping files with a mail extension or none.
 */
export async function listMailFiles(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (info?.isDirectory()) {
      await collectFolder(input, files);
    } else {
      // A missing or unreadable input is kept, so that reading it reports the error per file.
      files.push(input);
    }
  }
  return files;
}

async function collectFolder(folder: string, files: string[]): Promise<void> {
  const entries = await readdir(folder, { withFileTypes: true });
  entries.sort(compareNames);
  for (const entry of entries) {
    const fullPath = path.join(folder, entry.name);
    if (entry.isDirectory()) {
      await collectFolder(fullPath, files);
    } else if ((entry.isFile() || entry.isSymbolicLink()) && isMailFileName(entry.name)) {
      files.push(fullPath);
    }
  }
}

/** Orders by code unit, not locale, so that reports list files the same way on every machine. */
function compareNames(a: { name: string }, b: { name: string }): number {
  if (a.name === b.name) {
    return 0;
  }
  return a.name < b.name ? -1 : 1;
}

function isMailFileName(name: string): boolean {
  const extension = path.extname(name).toLowerCase();
  return extension === '' || MAIL_EXTENSIONS.has(extension);
}

/**
 * Reads each file as one message, or as several when it is an mbox file (sources `file#1`,
 * `file#2`, ...). A file that cannot be read yields an error entry and reading goes on.
 */
export async function* readMessages(
  files: readonly string[],
  options: ReadMessagesOptions,
): AsyncGenerator<SourceMessage> {
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = await readBounded(file, options.maxFileBytes);
    } catch (error: unknown) {
      yield { source: file, error: describeReadError(error) };
      continue;
    }
    if (looksLikeMbox(bytes)) {
      for (const [index, raw] of splitMbox(bytes).entries()) {
        yield { source: `${file}#${index + 1}`, raw };
      }
    } else {
      yield { source: file, raw: bytes };
    }
  }
}

async function readBounded(file: string, maxBytes: number): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new ReadError('not a regular file');
    }
    if (info.size > maxBytes) {
      throw new ReadError(`file is ${info.size} bytes, over the ${maxBytes}-byte limit`);
    }
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}

class ReadError extends Error {}

function describeReadError(error: unknown): string {
  if (error instanceof ReadError) {
    return error.message;
  }
  const code = typeof error === 'object' && error !== null ? Reflect.get(error, 'code') : undefined;
  return typeof code === 'string' ? `cannot read file (${code})` : 'cannot read file';
}
