import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

import { looksLikeMbox, splitMbox } from '../shared/mbox.js';

/** Extensions read as mail when a folder is walked. Files without an extension are read too. */
const MAIL_EXTENSIONS = new Set(['.eml', '.txt', '.mbox', '.mbx', '.mail']);

/** A path to read, a path that could not be listed and why, or one skipped on purpose. */
export interface MailFile {
  path: string;
  error?: string;
  /** Reason the path is not read, for a path skipped by design rather than failed. */
  skipped?: string;
}

/** One message read from disk, the reason a file could not be read, or why it was skipped. */
export type SourceMessage =
  | { source: string; raw: Uint8Array }
  | { source: string; error: string }
  | { source: string; skipped: string };

/** Reason reported for a symbolic link to a folder inside a scanned folder, which is not read. */
export const SKIPPED_FOLDER_LINK = 'symbolic link to a folder, not followed';

/** Extensions of mbox files. An empty one contains no messages rather than one empty message. */
const MBOX_EXTENSIONS = new Set(['.mbox', '.mbx']);

/** Options for {@link readMessages}. */
export interface ReadMessagesOptions {
  /** Files larger than this are reported as unreadable instead of being loaded, in bytes. */
  maxFileBytes: number;
  /** Called for an empty mbox file, which yields no messages. */
  onEmptyMbox?: (file: string) => void;
}

/**
 * Lists the mail files under the given paths: a file as it is, a folder recursively (sorted, so
 * reports are stable), keeping files with a mail extension or none. A folder that cannot be read
 * becomes an entry with an error, so one unreadable folder does not stop the run. A symbolic link
 * to a folder inside a folder is listed as skipped and not followed, so a link loop cannot make
 * the walk endless. A folder named in `inputs` is read even when it is a link.
 */
export async function listMailFiles(inputs: readonly string[]): Promise<MailFile[]> {
  const files: MailFile[] = [];
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (info?.isDirectory()) {
      await collectFolder(input, files);
    } else {
      // A missing or unreadable input is kept, so that reading it reports the error per file.
      files.push({ path: input });
    }
  }
  return files;
}

async function collectFolder(folder: string, files: MailFile[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error: unknown) {
    files.push({ path: folder, error: describeReadError(error, 'cannot read folder') });
    return;
  }
  entries.sort(compareNames);
  for (const entry of entries) {
    const fullPath = path.join(folder, entry.name);
    if (entry.isDirectory()) {
      await collectFolder(fullPath, files);
    } else if (entry.isSymbolicLink() && (await isFolder(fullPath))) {
      files.push({ path: fullPath, skipped: SKIPPED_FOLDER_LINK });
    } else if (!isMailFileName(entry.name)) {
      continue;
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      files.push({ path: fullPath });
    } else {
      // A FIFO, socket or device with a mail file name is reported rather than silently skipped.
      files.push({ path: fullPath, error: 'not a regular file' });
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

async function isFolder(file: string): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  return info?.isDirectory() === true;
}

function isMailFileName(name: string): boolean {
  const extension = path.extname(name).toLowerCase();
  return extension === '' || MAIL_EXTENSIONS.has(extension);
}

/**
 * Reads each file as one message, or as several when it is an mbox file (sources `file#1`,
 * `file#2`, ...). A file that cannot be read yields an error entry and reading goes on. An empty
 * `.mbox` or `.mbx` file yields nothing, because it is an mbox of 0 messages.
 */
export async function* readMessages(
  files: readonly MailFile[],
  options: ReadMessagesOptions,
): AsyncGenerator<SourceMessage> {
  for (const file of files) {
    if (file.error) {
      yield { source: file.path, error: file.error };
      continue;
    }
    if (file.skipped) {
      yield { source: file.path, skipped: file.skipped };
      continue;
    }
    let bytes: Uint8Array;
    try {
      bytes = await readBounded(file.path, options.maxFileBytes);
    } catch (error: unknown) {
      yield { source: file.path, error: describeReadError(error, 'cannot read file') };
      continue;
    }
    if (bytes.length === 0 && MBOX_EXTENSIONS.has(path.extname(file.path).toLowerCase())) {
      options.onEmptyMbox?.(file.path);
      continue;
    }
    if (looksLikeMbox(bytes)) {
      for (const [index, raw] of splitMbox(bytes).entries()) {
        yield { source: `${file.path}#${index + 1}`, raw };
      }
    } else {
      yield { source: file.path, raw: bytes };
    }
  }
}

async function readBounded(file: string, maxBytes: number): Promise<Uint8Array> {
  // Checked before opening: opening a FIFO or a device blocks until a writer appears.
  const info = await stat(file);
  if (!info.isFile()) {
    throw new ReadError('not a regular file');
  }
  if (info.size > maxBytes) {
    throw new ReadError(`file is ${info.size} bytes, over the ${maxBytes}-byte limit`);
  }
  const handle = await open(file, 'r');
  try {
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}

class ReadError extends Error {}

function describeReadError(error: unknown, prefix: string): string {
  if (error instanceof ReadError) {
    return error.message;
  }
  const code = typeof error === 'object' && error !== null ? Reflect.get(error, 'code') : undefined;
  return typeof code === 'string' ? `${prefix} (${code})` : prefix;
}
