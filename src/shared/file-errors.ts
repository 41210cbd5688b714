/**
 * Returns the Node `code` (ENOENT, EISDIR, EACCES...) of a file system error, looking through
 * `cause` for errors that wrap one; undefined when there is none.
 */
export function fileErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code: unknown = Reflect.get(current, 'code');
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
      return code;
    }
    current = Reflect.get(current, 'cause');
  }
  return undefined;
}

/**
 * Describes why a path could not be used, as the end of a sentence that starts with the path:
 * "was not found", "is a folder". Falls back to the error's code for causes not listed here.
 */
export function describeFileError(error: unknown): string {
  const code = fileErrorCode(error);
  switch (code) {
    case 'ENOENT':
      return 'was not found (it, or a folder above it, does not exist)';
    case 'ENOTDIR':
      return 'was not found (a part of the path is a file, not a folder)';
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be opened: permission denied';
    case 'EROFS':
      return 'is on a read-only file system';
    case 'ENOSPC':
      return 'cannot be written: the disk is full';
    default:
      return code === undefined ? 'cannot be opened' : `cannot be opened (${code})`;
  }
}
