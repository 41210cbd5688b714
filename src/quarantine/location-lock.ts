import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ScannerError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import {
  errorCode,
  isAzuriteForLocation,
  isProcessRunning,
  readCommandLine,
  signalQuietly,
  STOP_TIMEOUT_MS,
  unlinkQuietly,
  waitForProcessEnd,
} from './process-tools.js';

/** File inside the location that marks it as used by one running Azurite. */
export const LOCATION_LOCK_FILE_NAME = 'mailsweep-azurite.lock';

/** Time a process gets to end after SIGKILL before starting Azurite fails. */
const KILL_TIMEOUT_MS = 5_000;

/**
 * Age below which a lock file without a valid record counts as held, because its creator opens it
 * with `wx` and writes the record right after, so a reader can see it empty for a moment.
 */
const UNREADABLE_LOCK_GRACE_MS = 10_000;

/** Attempts to create the lock file while stale locks are being removed by other commands. */
const MAX_LOCK_ATTEMPTS = 5;

/** Content of the location lock file, as JSON. */
export interface LocationLockRecord {
  /** Random id of this lock, so a command deletes only its own lock. */
  id: string;
  /** Process id of the command that started Azurite. */
  ownerPid: number;
  /** Process id of the Azurite child; null until it is spawned. */
  azuritePid: number | null;
  /** Blob service URL; null until Azurite listens. */
  blobEndpoint: string | null;
  /** Time the lock was created, as an ISO 8601 string. */
  startedAt: string;
}

/** The lock file of a location, held by this process. */
export interface LocationLock {
  /** Rewrites the record with these fields changed. The file is replaced atomically by rename. */
  update(fields: Partial<Pick<LocationLockRecord, 'azuritePid' | 'blobEndpoint'>>): void;
  /**
   * Deletes the lock file if it still contains this lock's record. Never throws, and is safe to
   * call more than once.
   */
  release(): void;
}

/**
 * Creates the lock file of `location` with the `wx` flag. A lock whose owner has ended is taken
 * over after its Azurite, if still running, has been ended.
 * @throws ScannerError `blob-unavailable` when a running process holds the lock, or when the
 *   lock file cannot be created.
 */
export async function acquireLocationLock(location: string, logger: Logger): Promise<LocationLock> {
  const lockPath = join(location, LOCATION_LOCK_FILE_NAME);
  const record: LocationLockRecord = {
    id: randomUUID(),
    ownerPid: process.pid,
    azuritePid: null,
    blobEndpoint: null,
    startedAt: new Date().toISOString(),
  };

  for (let attempt = 0; attempt < MAX_LOCK_ATTEMPTS; attempt += 1) {
    if (tryCreateLockFile(lockPath, record)) {
      return createLocationLock(lockPath, record);
    }
    const existing = readLockFile(lockPath);
    if (existing.state === 'missing') {
      continue;
    }
    if (existing.state === 'held') {
      throw locationBusyError(location, lockPath, existing.record?.ownerPid);
    }
    const orphanPid = existing.record?.azuritePid;
    if (orphanPid !== null && orphanPid !== undefined) {
      await stopOrphanedAzurite(orphanPid, location, lockPath, logger);
    }
    if (tryRemoveStaleLock(lockPath, existing.content)) {
      logger.info('Local Azurite lock of an ended command removed', {
        ownerPid: existing.record?.ownerPid,
        lockPath,
      });
    }
  }
  throw new ScannerError(
    'blob-unavailable',
    `Could not lock the local Azurite location after ${MAX_LOCK_ATTEMPTS} attempts because ` +
      'other commands keep replacing its lock: retry, or set ' +
      'MAILSWEEP_QUARANTINE_CONNECTION_STRING to use another storage account',
    { fields: { lockPath } },
  );
}

/** Creates the lock file exclusively; returns false if it exists already. */
function tryCreateLockFile(lockPath: string, record: LocationLockRecord): boolean {
  try {
    writeFileSync(lockPath, JSON.stringify(record), { flag: 'wx' });
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') {
      return false;
    }
    throw new ScannerError(
      'blob-unavailable',
      `Cannot create the local Azurite lock file ${lockPath}: check the folder's permissions`,
      { cause: error, fields: { lockPath } },
    );
  }
}

function createLocationLock(lockPath: string, record: LocationLockRecord): LocationLock {
  let current = record;
  let released = false;
  return {
    update(fields) {
      current = { ...current, ...fields };
      const temporaryPath = `${lockPath}.${current.id}.tmp`;
      writeFileSync(temporaryPath, JSON.stringify(current));
      renameSync(temporaryPath, lockPath);
    },
    release() {
      if (released) {
        return;
      }
      released = true;
      try {
        const onDisk = readLockFile(lockPath);
        if (onDisk.state !== 'missing' && onDisk.record?.id === current.id) {
          unlinkSync(lockPath);
        }
      } catch {
        // Unreadable or already gone: a later command treats a leftover lock as stale.
      }
    },
  };
}

type LockFileState =
  | { state: 'missing' }
  | { state: 'held' | 'stale'; content: string; record: LocationLockRecord | undefined };

/**
 * Reads a lock file and decides whether its owner still runs. A file without a valid record is
 * held while younger than {@link UNREADABLE_LOCK_GRACE_MS} and stale after.
 */
function readLockFile(lockPath: string): LockFileState {
  let content: string;
  let modifiedAt: number;
  try {
    content = readFileSync(lockPath, 'utf8');
    modifiedAt = statSync(lockPath).mtimeMs;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      return { state: 'missing' };
    }
    throw new ScannerError(
      'blob-unavailable',
      `Cannot read the local Azurite lock file ${lockPath}: check the folder's permissions`,
      { cause: error, fields: { lockPath } },
    );
  }

  const record = parseLockRecord(content);
  if (record === undefined) {
    const fresh = Date.now() - modifiedAt < UNREADABLE_LOCK_GRACE_MS;
    return { state: fresh ? 'held' : 'stale', content, record };
  }
  // NOTE: a reused owner PID makes a stale lock look held; the error names the PID and the file.
  return { state: isProcessRunning(record.ownerPid) ? 'held' : 'stale', content, record };
}

function parseLockRecord(content: string): LocationLockRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const record = value as Record<string, unknown>;
  const azuritePid = record.azuritePid;
  const blobEndpoint = record.blobEndpoint;
  if (
    typeof record.id !== 'string' ||
    !isPid(record.ownerPid) ||
    !(azuritePid === null || isPid(azuritePid)) ||
    !(blobEndpoint === null || typeof blobEndpoint === 'string') ||
    typeof record.startedAt !== 'string'
  ) {
    return undefined;
  }
  return {
    id: record.id,
    ownerPid: record.ownerPid,
    azuritePid,
    blobEndpoint,
    startedAt: record.startedAt,
  };
}

function isPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function locationBusyError(
  location: string,
  lockPath: string,
  ownerPid: number | undefined,
): ScannerError {
  const owner = ownerPid === undefined ? 'another command' : `the command with PID ${ownerPid}`;
  return new ScannerError(
    'blob-unavailable',
    `The local Azurite location ${location} is in use by ${owner}: wait for that command to ` +
      'finish, or set MAILSWEEP_QUARANTINE_CONNECTION_STRING to use another storage account. ' +
      `If no such command runs, delete ${lockPath}`,
    { fields: { lockPath, ...(ownerPid === undefined ? {} : { ownerPid }) } },
  );
}

/**
 * Removes a stale lock file unless another command has replaced it since it was read: the file is
 * renamed away first and put back if its content differs from `staleContent`.
 */
function tryRemoveStaleLock(lockPath: string, staleContent: string): boolean {
  const movedPath = `${lockPath}.${process.pid}.${randomUUID()}.stale`;
  try {
    renameSync(lockPath, movedPath);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      return false;
    }
    throw error;
  }
  let movedContent: string | undefined;
  try {
    movedContent = readFileSync(movedPath, 'utf8');
  } catch {
    movedContent = undefined;
  }
  if (movedContent === staleContent) {
    unlinkQuietly(movedPath);
    return true;
  }
  // Another command took the lock over in the meantime: put its lock back unless a third
  // command has created one since, because `link` never replaces an existing file.
  try {
    linkSync(movedPath, lockPath);
  } catch {
    // The lock path is taken again, which is what matters for the next attempt.
  }
  unlinkQuietly(movedPath);
  return false;
}

/**
 * Ends the Azurite of a command that has ended, if `pid` still runs and its command line shows an
 * Azurite started with `location`, so a reused PID never gets a signal.
 * @throws ScannerError `blob-unavailable` when the process cannot be checked or does not end.
 */
async function stopOrphanedAzurite(
  pid: number,
  location: string,
  lockPath: string,
  logger: Logger,
): Promise<void> {
  if (!isProcessRunning(pid)) {
    return;
  }
  const commandLine = readCommandLine(pid);
  if (commandLine === undefined) {
    // NOTE: only Linux has /proc; elsewhere a leftover Azurite must be ended by hand.
    throw new ScannerError(
      'blob-unavailable',
      `Process ${pid}, recorded in ${lockPath} as the Azurite of an ended command, still runs ` +
        `and cannot be checked: end it if it is Azurite, then delete ${lockPath}`,
      { fields: { pid, lockPath } },
    );
  }
  if (!isAzuriteForLocation(pid, commandLine, location)) {
    logger.info('Process named in a stale local Azurite lock is not Azurite, so it keeps running', {
      pid,
    });
    return;
  }

  logger.warn('Stopping the local Azurite of an ended command', { pid });
  signalQuietly(pid, 'SIGTERM');
  if (await waitForProcessEnd(pid, STOP_TIMEOUT_MS)) {
    return;
  }
  signalQuietly(pid, 'SIGKILL');
  if (await waitForProcessEnd(pid, KILL_TIMEOUT_MS)) {
    return;
  }
  throw new ScannerError(
    'blob-unavailable',
    `Azurite process ${pid} of an ended command did not stop after SIGKILL: end it, then retry`,
    { fields: { pid, lockPath } },
  );
}
