import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';

import type { ScanLimits } from '../../config/settings.js';
import { createDeadline } from '../deadline.js';
import { ScannerError } from '../../shared/errors.js';
import { extractMessage } from '../extract.js';
import type { SpamModel } from './model.js';
import { type TrainingSample, type TrainSpamModelOptions, trainSpamModel } from './train.js';

/** Options of {@link trainFromFolders}. */
export interface TrainFromFoldersOptions {
  /** Folders of spam messages, read recursively. */
  spam: readonly string[];
  /** Folders of ham (legitimate) messages, read recursively. */
  ham: readonly string[];
  /** Limits applied to each training message, as in a scan. */
  limits: ScanLimits;
  /** Passed on to {@link trainSpamModel}. */
  training?: TrainSpamModelOptions;
}

const MESSAGE_EXTENSIONS = new Set(['.eml', '.txt', '']);

/**
 * Trains a spam model from folders of raw RFC 5322 messages: every file ending in `.eml` or
 * `.txt`, or without an extension, in the folders and their subfolders. Files are read in sorted
 * path order, so the same folders always give the same model.
 */
export async function trainFromFolders(options: TrainFromFoldersOptions): Promise<SpamModel> {
  return trainSpamModel(readSamples(options), options.training);
}

async function* readSamples(options: TrainFromFoldersOptions): AsyncGenerator<TrainingSample> {
  const labelled: { paths: string[]; spam: boolean }[] = [
    { paths: await listMessageFiles(options.spam), spam: true },
    { paths: await listMessageFiles(options.ham), spam: false },
  ];
  for (const { paths, spam } of labelled) {
    if (paths.length === 0) {
      // A model trained on one class only scores everything alike and would look valid.
      throw new ScannerError(
        'input-unreadable',
        `no ${spam ? 'spam' : 'ham'} messages found in the given folders; each class needs at least one message`,
      );
    }
  }
  for (const { paths, spam } of labelled) {
    for (const path of paths) {
      const raw = await readFile(path);
      const deadline = createDeadline(options.limits.scanTimeoutMs);
      const { view } = await extractMessage(raw, options.limits, deadline);
      yield { view, spam };
    }
  }
}

/** Lists message files under the folders, recursively, sorted by path. */
export async function listMessageFiles(folders: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const folder of folders) {
    const entries = await readdir(folder, { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      const isHidden = entry.name.startsWith('.');
      if (
        entry.isFile() &&
        !isHidden &&
        MESSAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())
      ) {
        files.push(join(entry.parentPath, entry.name));
      }
    }
  }
  return files.sort();
}
