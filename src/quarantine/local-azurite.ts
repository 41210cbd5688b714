import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';

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
  /** Ends the Azurite child and resolves once it has exited. Safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Starts the Azurite blob service from this package's node_modules as a child process on
 * 127.0.0.1, on a port the OS picks (port 0), persisting to `location`, so that a later command
 * with the same location lists earlier items. Telemetry is disabled because Azurite 3.35
 * otherwise collects usage data (see `azurite-blob --help`). Two processes must not use one
 * location at the same time.
 * @throws ScannerError `blob-unavailable` when Azurite is not installed, exits or does not respond.
 */
export async function startLocalAzurite(options: LocalAzuriteOptions): Promise<LocalAzurite> {
  const startedAt = Date.now();
  const script = await resolveAzuriteScript('azurite-blob');
  await mkdir(options.location, { recursive: true });

  const child = spawn(
    process.execPath,
    [
      script,
      ...['--blobHost', LOOPBACK_HOST, '--blobPort', '0'],
      ...['--location', options.location],
      '--silent',
      '--skipApiVersionCheck',
      '--disableTelemetry',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Without this, a crash of this process would leave Azurite running with the location locked.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let port: number;
  try {
    port = await waitForPort(child, options.startTimeoutMs ?? 30_000);
    await waitUntilAnswering(port, startedAt + (options.startTimeoutMs ?? 30_000));
  } catch (error) {
    process.removeListener('exit', killOnExit);
    await stopChild(child);
    throw error;
  }

  const blobEndpoint = `http://${LOOPBACK_HOST}:${port}/${DEV_ACCOUNT_NAME}`;
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
      process.removeListener('exit', killOnExit);
      await stopChild(child);
      options.logger.info('Local Azurite stopped', { pid: child.pid });
    },
  };
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
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
