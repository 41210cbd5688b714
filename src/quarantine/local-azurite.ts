import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  linkSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';

import { ScannerError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/**
 * Account name and key of Azurite's built-in development account. Microsoft publishes both in the
 * Azurite documentation, so they are not secrets and only ever reach a 127.0.0.1 endpoint here.
 */
const DEV_ACCOUNT_NAME = 'devstoreaccount1';
const DEV_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const LOOPBACK_HOST = '127.0.0.1';

/** Azurite prints this once the blob service accepts connections, with the port the OS chose. */
const LISTENING_PATTERN = /Blob service .*(?:listens on|listening at) http:\/\/127\.0\.0\.1:(\d+)/;

/** File inside the location that marks it as used by one running Azurite. */
export const LOCATION_LOCK_FILE_NAME = 'mailsweep-azurite.lock';

/**
 * Time Azurite gets to close its servers after SIGTERM, before SIGKILL. Azurite 3.35 saves its
 * LokiJS database on close and otherwise only every 5 s, so SIGKILL can lose recent metadata.
 */
const STOP_TIMEOUT_MS = 10_000;

/** Time a process gets to end after SIGKILL before starting Azurite fails. */
const KILL_TIMEOUT_MS = 5_000;

/**
 * Age below which a lock file without a valid record counts as held, because its creator opens it
 * with `wx` and writes the record right after, so a reader can see it empty for a moment.
 */
const UNREADABLE_LOCK_GRACE_MS = 10_000;

/** Attempts to create the lock file while stale locks are being removed by other commands. */
const MAX_LOCK_ATTEMPTS = 5;

/** Signals that end the command by default. The child is stopped before they take effect. */
const TERMINATING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Module that Azurite's node process loads before Azurite itself. It ends Azurite with SIGTERM
 * once the parent dies and Azurite is moved to another parent, which
 * also covers a parent killed by SIGKILL. Failed writes to the parent's closed pipes are ignored,
 * because Azurite would otherwise crash on its closing message before saving.
 */
const PARENT_WATCHDOG_MODULE =
  'data:text/javascript,' +
  encodeURIComponent(
    'const parent = process.ppid;' +
      'process.stdout.on("error", () => {});' +
      'process.stderr.on("error", () => {});' +
      'const watch = () => {' +
      '  if (process.ppid !== parent) process.kill(process.pid, "SIGTERM");' +
      '};' +
      'setInterval(watch, 500).unref();',
  );

/** Options of {@link startLocalAzurite}. */
export interface LocalAzuriteOptions {
  /** Folder where Azurite keeps its blobs and database; created if missing. */
  location: string;
  logger: Logger;
  /** Time allowed for Azurite to start and respond, in milliseconds. Default: 30,000. */
  startTimeoutMs?: number;
}

/** A running Azurite blob service started by this process. */
export interface LocalAzurite {
  /** Development-account connection string for the blob endpoint. */
  connectionString: string;
  /** Blob service URL including the account, e.g. `http://127.0.0.1:41234/devstoreaccount1`. */
  blobEndpoint: string;
  /** Process id of the Azurite child. */
  pid: number;
  /**
   * Ends the Azurite child, resolves once it has exited, then deletes the location lock and the
   * signal handlers. Safe to call more than once.
   */
  stop(): Promise<void>;
}

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

/**
 * Starts the Azurite blob service from this package's node_modules as a child process on
 * 127.0.0.1, on a port the OS picks (port 0), persisting to `location`, so that a later command
 * with the same location lists earlier items. Telemetry is disabled because Azurite 3.35
 * otherwise collects usage data (see `azurite-blob --help`).
 *
 * Two Azurite processes on one location overwrite each other's database, so the location is
 * locked by the file {@link LOCATION_LOCK_FILE_NAME} while Azurite runs. A lock left by a command
 * that has ended is taken over, and its Azurite is ended first if it is still running. SIGINT,
 * SIGTERM and SIGHUP stop Azurite and delete the lock before the signal takes effect.
 * @throws ScannerError `blob-unavailable` when another running command uses the location, or
 *   when Azurite is not installed, exits or does not respond.
 */
export async function startLocalAzurite(options: LocalAzuriteOptions): Promise<LocalAzurite> {
  const startedAt = Date.now();
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const script = await resolveAzuriteScript('azurite-blob');
  await mkdir(options.location, { recursive: true });
  // The real path, so that the lock and the orphan check agree however the folder was named.
  const location = await realpath(options.location);
  const lock = await acquireLocationLock(location, options.logger);

  const child = spawn(
    process.execPath,
    [
      ...['--import', PARENT_WATCHDOG_MODULE],
      script,
      ...['--blobHost', LOOPBACK_HOST, '--blobPort', '0'],
      ...['--location', location],
      '--silent',
      '--skipApiVersionCheck',
      '--disableTelemetry',
    ],
    // Not detached, so Azurite stays in this process group and gets a terminal's Ctrl+C too.
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const guard = guardChild(child, lock);

  let port: number;
  let blobEndpoint: string;
  try {
    lock.update({ azuritePid: child.pid ?? null });
    port = await waitForPort(child, timeoutMs);
    await waitUntilAnswering(port, startedAt + timeoutMs);
    blobEndpoint = `http://${LOOPBACK_HOST}:${port}/${DEV_ACCOUNT_NAME}`;
    lock.update({ blobEndpoint });
  } catch (error) {
    guard.dispose();
    await stopChild(child);
    lock.release();
    throw error;
  }

  options.logger.info('Local Azurite started', {
    pid: child.pid,
    port,
    durationMs: Date.now() - startedAt,
  });
  return {
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT_NAME};` +
      `AccountKey=${DEV_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};`,
    blobEndpoint,
    pid: child.pid ?? 0,
    async stop() {
      guard.dispose();
      await stopChild(child);
      lock.release();
      options.logger.info('Local Azurite stopped', { pid: child.pid });
    },
  };
}

/**
 * Registers the process listeners that end the child with this process. SIGINT, SIGTERM and SIGHUP
 * stop it, delete the lock and then raise the signal again, so the exit status stays 128 + the
 * signal number.
 */
function guardChild(child: ChildProcess, lock: LocationLock): { dispose(): void } {
  let stoppingOnSignal = false;
  // Only synchronous work runs on 'exit', so Azurite cannot be awaited there. The lock stays,
  // and the next command waits for the Azurite PID it records to end before starting its own.
  const onExit = (): void => {
    child.kill('SIGTERM');
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stoppingOnSignal) {
      // A second signal while Azurite saves its database: do not wait any longer.
      child.kill('SIGKILL');
      return;
    }
    stoppingOnSignal = true;
    void stopChild(child).then(() => {
      lock.release();
      dispose();
      // Other listeners have received this signal too and decide themselves what happens.
      if (process.listenerCount(signal) === 0) {
        process.kill(process.pid, signal);
      }
    });
  };
  const dispose = (): void => {
    process.removeListener('exit', onExit);
    for (const signal of TERMINATING_SIGNALS) {
      process.removeListener(signal, onSignal);
    }
  };

  process.once('exit', onExit);
  for (const signal of TERMINATING_SIGNALS) {
    process.on(signal, onSignal);
  }
  return { dispose };
}

/** The lock file of a location, held by this process. */
interface LocationLock {
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
async function acquireLocationLock(location: string, logger: Logger): Promise<LocationLock> {
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

/**
 * Finds a bin script of the azurite package installed with this package, whatever the current
 * directory is.
 */
async function resolveAzuriteScript(binName: string): Promise<string> {
  const notInstalled = (cause?: unknown): ScannerError =>
    new ScannerError(
      'blob-unavailable',
      'Azurite is not installed: run `npm ci` in the mailsweep folder, or set ' +
        'MAILSWEEP_QUARANTINE_CONNECTION_STRING to use another storage account',
      { cause },
    );
  try {
    const packageJsonPath = createRequire(import.meta.url).resolve('azurite/package.json');
    const packageJson = JSON.parse(await readFile(packageJsonPath, 'utf8')) as {
      bin?: Record<string, string>;
    };
    const relativeScript = packageJson.bin?.[binName];
    if (relativeScript === undefined) {
      throw notInstalled();
    }
    return resolve(dirname(packageJsonPath), relativeScript);
  } catch (error) {
    throw error instanceof ScannerError ? error : notInstalled(error);
  }
}

/** Reads Azurite's output until it names its port; fails if it exits or takes too long. */
function waitForPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    let output = '';
    const fail = (reason: string): void => {
      cleanup();
      reject(
        new ScannerError('blob-unavailable', `Local Azurite did not start: ${reason}`, {
          fields: { output: output.slice(-2000) },
        }),
      );
    };
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = LISTENING_PATTERN.exec(output);
      if (match?.[1] !== undefined) {
        cleanup();
        resolvePort(Number(match[1]));
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      fail(`it exited with ${signal ?? `code ${code}`}`);
    };
    const onError = (error: Error): void => {
      fail(error.message);
    };
    const timer = setTimeout(() => fail(`no port after ${timeoutMs} ms`), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      // Keep draining both pipes so Azurite never blocks on a full pipe buffer.
      child.stdout?.resume();
      child.stderr?.resume();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Polls the blob endpoint until it returns any HTTP response, error statuses included. */
async function waitUntilAnswering(port: number, deadline: number): Promise<void> {
  while (!(await answers(port))) {
    if (Date.now() > deadline) {
      throw new ScannerError(
        'blob-unavailable',
        'Local Azurite did not respond in time: check that nothing else uses its location, or ' +
          'set MAILSWEEP_QUARANTINE_CONNECTION_STRING to use another storage account',
        { fields: { port } },
      );
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = request(
      { host: LOOPBACK_HOST, port, path: `/${DEV_ACCOUNT_NAME}?comp=list`, timeout: 2000 },
      (response) => {
        response.resume();
        done(true);
      },
    );
    probe.on('timeout', () => probe.destroy());
    probe.on('error', () => done(false));
    probe.end();
  });
}

/** Sends SIGTERM, which Azurite handles by closing its servers, and SIGKILL after 10 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Returns the arguments of a process from /proc, or undefined where that cannot be read. */
function readCommandLine(pid: number): string[] | undefined {
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
function isAzuriteForLocation(pid: number, commandLine: string[], location: string): boolean {
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
function isProcessRunning(pid: number): boolean {
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

async function waitForProcessEnd(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessRunning(pid)) {
    if (Date.now() > deadline) {
      return false;
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  return true;
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // It has ended already.
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or the folder was removed.
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
