import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

import { type CompiledRuleSet, compileRuleSet } from './compile-rules.js';
import { RuleSetError } from './rule-errors.js';
import { MAX_RULE_SET_BYTES, parseRuleSetJson } from './rule-store.js';
import { MAX_LIST_FILE_BYTES } from './rule-lists.js';

/**
 * Reads and compiles a rule set file. List files are resolved relative to the rule set's folder
 * and must stay inside it, so that a rule set cannot read other files of the host.
 * @throws RuleSetError when the file is missing, too large, not JSON or invalid, or a list file
 * is missing, outside the folder or malformed.
 */
export async function loadRuleSetFile(file: string, maxRules: number): Promise<CompiledRuleSet> {
  const text = await readBounded(file, MAX_RULE_SET_BYTES).catch((error: unknown) => {
    throw new RuleSetError([{ path: '', message: `file ${file} ${describeReadError(error)}` }]);
  });
  const folder = path.dirname(path.resolve(file));
  return compileRuleSet(parseRuleSetJson(text), {
    maxRules,
    readListFile: (listFile) => readListFileInFolder(folder, listFile),
  });
}

/**
 * Reads a list file named relative to `folder`, rejecting a path that leaves the folder, as
 * written (`../x`, an absolute path) or through a symbolic link, with the code `OutsideFolder`.
 */
async function readListFileInFolder(folder: string, listFile: string): Promise<string> {
  if (!isInside(folder, path.resolve(folder, listFile))) {
    throw outsideFolder();
  }
  const realFolder = await realpath(folder);
  const realFile = await realpath(path.resolve(folder, listFile));
  if (!isInside(realFolder, realFile)) {
    throw outsideFolder();
  }
  return readBounded(realFile, MAX_LIST_FILE_BYTES);
}

function isInside(folder: string, file: string): boolean {
  const relative = path.relative(folder, file);
  return (
    relative !== '' &&
    relative !== '..' &&
    !relative.startsWith(`..${path.sep}`) &&
    !path.isAbsolute(relative)
  );
}

function outsideFolder(): Error {
  return Object.assign(new Error('outside the rule set folder'), { code: 'OutsideFolder' });
}

/** Reads a regular file up to a size; a FIFO or device would block the read, so it is refused. */
export async function readBounded(file: string, maxBytes: number): Promise<string> {
  const info = await stat(file);
  if (!info.isFile()) {
    throw Object.assign(new Error('not a regular file'), { code: 'NotAFile' });
  }
  if (info.size > maxBytes) {
    throw Object.assign(new Error(`larger than ${maxBytes} bytes`), { code: 'TooLarge' });
  }
  return readFile(file, 'utf8');
}

function describeReadError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return 'was not found';
  if (code === 'TooLarge') return `is larger than ${MAX_RULE_SET_BYTES} bytes`;
  if (code === 'NotAFile') return 'is not a regular file';
  return 'could not be read';
}
