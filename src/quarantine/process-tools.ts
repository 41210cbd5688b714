import { readFileSync, readlinkSync, realpathSync, unlinkSync } from 'node:fs';
import { basename, resolve } from 'node:path';

/**
 * Time Azurite gets to close its servers after SIGTERM, before SIGKILL. Azurite 3.35 saves its
 * LokiJS database on close and otherwise only every 5 s, so SIGKILL can lose recent metadata.
 */
export const STOP_TIMEOUT_MS = 10_000;

/** Returns the arguments of a process from /proc, or undefined where that cannot be read. */
export function readCommandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/**
 * Tells whether a command line runs an Azurite script (a path through an `azurite` folder, or a
 * file named `azurite*`) with `--location` or `-l` naming `location`.
 */
export function isAzuriteForLocation(
  pid: number,
  commandLine: string[],
  location: string,
): boolean {
  const runsAzurite = commandLine.some(
    (argument) =>
      /[\\/]azurite[\\/]/.test(argument) || basename(argument).startsWith('azurite'),
  );
  if (!runsAzurite) {
    return false;
  }
  return commandLine.some((argument, index) => {
    let value: string | undefined;
    if (argument === '--location' || argument === '-l') {
      value = commandLine[index + 1];
    } else if (argument.startsWith('--location=')) {
      value = argument.slice('--location='.length);
    }
    return value !== undefined && resolveProcessPath(pid, value) === location;
  });
}

/** Resolves a path argument of another process against its working directory, then real path. */
function resolveProcessPath(pid: number, value: string): string | undefined {
  try {
    return realpathSync(resolve(readlinkSync(`/proc/${pid}/cwd`), value));
  } catch {
    return resolve(value);
  }
}

/** True while a process exists and is not a zombie (ended but not yet reaped by its parent). */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return errorCode(error) === 'EPERM';
  }
  try {
    // The state letter follows the command name, which is in parentheses and may contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true;
  }
}

/** Polls until `pid` has ended, and returns false if it still runs after `timeoutMs`. */
export async function waitForProcessEnd(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessRunning(pid)) {
    if (Date.now() > deadline) {
      return false;
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  return true;
}

/** Sends `signal` to `pid` and ignores any failure, such as a process that has ended already. */
export function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // It has ended already.
  }
}

/** Deletes a file and ignores any failure, such as a file that is already gone. */
export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or the folder was removed.
  }
}

/** Returns the string `code` of a Node.js system error, or undefined for anything else. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
