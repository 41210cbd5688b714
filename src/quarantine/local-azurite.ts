import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';

import { ScannerError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import {
  acquireLocationLock,
  LOCATION_LOCK_FILE_NAME,
  type LocationLock,
  type LocationLockRecord,
} from './location-lock.js';
import { STOP_TIMEOUT_MS } from './process-tools.js';

export { LOCATION_LOCK_FILE_NAME, type LocationLockRecord };

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

/** The same for the table service, which only the full `azurite` command starts. */
const TABLE_LISTENING_PATTERN = /Table service .*(?:listens on|listening at) http:\/\/127\.0\.0\.1:(\d+)/;

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
  /** Also start the table (and queue) services, for the state tables. Default: false. */
  withTables?: boolean;
}

/** A running Azurite blob service started by this process. */
export interface LocalAzurite {
  /** Development-account connection string for the blob endpoint. */
  connectionString: string;
  /** Blob service URL including the account, e.g. `http://127.0.0.1:41234/devstoreaccount1`. */
  blobEndpoint: string;
  /** Table service URL including the account, when started `withTables`. */
  tableEndpoint?: string;
  /** Process id of the Azurite child. */
  pid: number;
  /**
   * Ends the Azurite child, resolves once it has exited, then deletes the location lock and the
   * signal handlers. Safe to call more than once.
   */
  stop(): Promise<void>;
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
  const withTables = options.withTables === true;
  const script = await resolveAzuriteScript(withTables ? 'azurite' : 'azurite-blob');
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
      ...(withTables
        ? [
            ...['--queueHost', LOOPBACK_HOST, '--queuePort', '0'],
            ...['--tableHost', LOOPBACK_HOST, '--tablePort', '0'],
          ]
        : []),
      ...['--location', location],
      '--silent',
      '--skipApiVersionCheck',
      '--disableTelemetry',
    ],
    // Detached into its own process group, so a terminal's Ctrl+C or hang-up reaches only this
    // process, which then stops Azurite with one SIGTERM. Azurite 3.35 given SIGINT and then
    // SIGTERM runs its shutdown twice, fails the second time and exits without saving its
    // database, losing blobs it had acknowledged. The watchdog module ends it if this process dies.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const guard = guardChild(child, lock);

  let port: number;
  let blobEndpoint: string;
  let tableEndpoint: string | undefined;
  try {
    lock.update({ azuritePid: child.pid ?? null });
    const patterns = withTables
      ? [LISTENING_PATTERN, TABLE_LISTENING_PATTERN]
      : [LISTENING_PATTERN];
    const [blobPort, tablePort] = await waitForPort(child, timeoutMs, patterns);
    port = blobPort ?? 0;
    if (tablePort !== undefined) {
      tableEndpoint = `http://${LOOPBACK_HOST}:${tablePort}/${DEV_ACCOUNT_NAME}`;
    }
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
      `AccountKey=${DEV_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};` +
      (tableEndpoint === undefined ? '' : `TableEndpoint=${tableEndpoint};`),
    blobEndpoint,
    tableEndpoint,
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

/**
 * Reads Azurite's output until every pattern has matched, and returns their ports in order;
 * fails if Azurite exits or takes too long.
 */
function waitForPort(
  child: ChildProcess,
  timeoutMs: number,
  patterns: readonly RegExp[],
): Promise<(number | undefined)[]> {
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
      const ports = patterns.map((pattern) => pattern.exec(output)?.[1]);
      if (ports.every((port) => port !== undefined)) {
        cleanup();
        resolvePort(ports.map(Number));
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
