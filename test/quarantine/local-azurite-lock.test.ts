import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  LOCATION_LOCK_FILE_NAME,
  startLocalAzurite,
  type LocationLockRecord,
} from '../../src/quarantine/local-azurite.js';
import { ScannerError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/logger.js';

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MODULE_URL = pathToFileURL(join(REPOSITORY_ROOT, 'src/quarantine/local-azurite.ts')).href;

/** True while a process exists and is not a zombie (Azurite orphans may not be reaped at once). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

async function waitUntilEnded(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid)) {
    if (Date.now() > deadline) {
      return false;
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  return true;
}

/** Returns the PID of a process that has ended, so a lock can name a dead owner. */
async function endedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  assert.ok(child.pid !== undefined);
  return child.pid;
}

/**
 * Collects a child's stdout until it contains `text`, then keeps draining it without closing the
 * pipe, because a closed pipe would make the child's later writes fail with EPIPE.
 */
function readStdoutUntil(child: ChildProcess, text: string): Promise<string> {
  return new Promise((done, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes(text)) {
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        child.stdout?.resume();
        done(output);
      }
    };
    const onExit = (): void => reject(new Error(`child exited before printing: ${output}`));
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Starts Azurite directly, as an earlier command would have, and waits until it listens. */
async function spawnAzurite(location: string): Promise<ChildProcess> {
  const packageJsonPath = createRequire(import.meta.url).resolve('azurite/package.json');
  const script = join(dirname(packageJsonPath), 'dist/src/blob/main.js');
  const child = spawn(
    process.execPath,
    [
      script,
      ...['--blobHost', '127.0.0.1', '--blobPort', '0', '--location', location],
      // Without this flag Azurite 3.35 sends usage data to Application Insights.
      '--silent',
      '--disableTelemetry',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await readStdoutUntil(child, 'successfully listens');
  return child;
}

function staleLock(ownerPid: number, azuritePid: number): LocationLockRecord {
  return {
    id: 'stale-lock',
    ownerPid,
    azuritePid,
    blobEndpoint: 'http://127.0.0.1:1/devstoreaccount1',
    startedAt: new Date().toISOString(),
  };
}

async function readLock(location: string): Promise<LocationLockRecord> {
  return JSON.parse(
    await readFile(join(location, LOCATION_LOCK_FILE_NAME), 'utf8'),
  ) as LocationLockRecord;
}

/**
 * Runs a node process that starts Azurite on `location`, and resolves with that process and the
 * Azurite PID it prints.
 */
async function startAzuriteInChild(
  folder: string,
  location: string,
  afterStart = 'setInterval(() => {}, 1000);',
): Promise<{ child: ChildProcess; azuritePid: number }> {
  const scriptPath = join(folder, 'start-azurite.mjs');
  await writeFile(
    scriptPath,
    [
      `import { startLocalAzurite } from ${JSON.stringify(MODULE_URL)};`,
      'const logger = { error() {}, warn() {}, info() {}, debug() {} };',
      `const azurite = await startLocalAzurite({ location: ${JSON.stringify(location)}, logger });`,
      'process.stdout.write(`${azurite.pid}\\n`);',
      afterStart,
    ].join('\n'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', scriptPath], {
    cwd: REPOSITORY_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const output = await readStdoutUntil(child, '\n');
  const azuritePid = Number(output.trim());
  assert.ok(Number.isInteger(azuritePid), `unexpected output: ${output}`);
  assert.ok(azuritePid > 0, `unexpected output: ${output}`);
  return { child, azuritePid };
}

describe('startLocalAzurite location lock', () => {
  const folders: string[] = [];
  after(async () => {
    await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
  });

  async function newLocation(): Promise<{ folder: string; location: string }> {
    const folder = await mkdtemp(join(tmpdir(), 'mailsweep-azurite-lock-'));
    folders.push(folder);
    return { folder, location: join(folder, 'azurite') };
  }

  it('rejects a second start on a locked location', async () => {
    const { location } = await newLocation();
    const first = await startLocalAzurite({ location, logger: silentLogger });
    try {
      await assert.rejects(startLocalAzurite({ location, logger: silentLogger }), (error) => {
        assert.ok(error instanceof ScannerError);
        assert.equal(error.code, 'blob-unavailable');
        assert.match(error.message, new RegExp(`PID ${process.pid}\\b`));
        assert.match(error.message, /wait for that command/);
        assert.match(error.message, /MAILSWEEP_QUARANTINE_CONNECTION_STRING/);
        return true;
      });
      assert.equal(isRunning(first.pid), true);
      const record = await readLock(location);
      assert.equal(record.ownerPid, process.pid);
      assert.equal(record.azuritePid, first.pid);
      assert.equal(record.blobEndpoint, first.blobEndpoint);
    } finally {
      await first.stop();
    }
  });

  it('deletes the lock on stop and starts again', async () => {
    const { location } = await newLocation();
    const first = await startLocalAzurite({ location, logger: silentLogger });
    await first.stop();
    assert.equal(existsSync(join(location, LOCATION_LOCK_FILE_NAME)), false);

    const second = await startLocalAzurite({ location, logger: silentLogger });
    try {
      assert.equal(isRunning(second.pid), true);
    } finally {
      await second.stop();
    }
    assert.equal(existsSync(join(location, LOCATION_LOCK_FILE_NAME)), false);
  });

  it('removes signal handlers on stop', async () => {
    const { location } = await newLocation();
    const before = ['SIGINT', 'SIGTERM', 'SIGHUP'].map((signal) => process.listenerCount(signal));
    const azurite = await startLocalAzurite({ location, logger: silentLogger });
    const during = ['SIGINT', 'SIGTERM', 'SIGHUP'].map((signal) => process.listenerCount(signal));
    await azurite.stop();
    const afterStop = ['SIGINT', 'SIGTERM', 'SIGHUP'].map((signal) =>
      process.listenerCount(signal),
    );

    assert.deepEqual(
      during,
      before.map((count) => count + 1),
    );
    assert.deepEqual(afterStop, before);
  });

  it('stops the orphaned Azurite of a stale lock', async () => {
    const { location } = await newLocation();
    const orphan = await spawnAzurite(location);
    assert.ok(orphan.pid !== undefined);
    await writeFile(
      join(location, LOCATION_LOCK_FILE_NAME),
      JSON.stringify(staleLock(await endedPid(), orphan.pid)),
    );

    const azurite = await startLocalAzurite({ location, logger: silentLogger });
    try {
      assert.equal(await waitUntilEnded(orphan.pid, 2000), true, 'orphan still runs');
      assert.notEqual(orphan.exitCode ?? orphan.signalCode, null);
      const record = await readLock(location);
      assert.equal(record.ownerPid, process.pid);
      assert.equal(record.azuritePid, azurite.pid);
    } finally {
      await azurite.stop();
      orphan.kill('SIGKILL');
    }
  });

  it('leaves an unrelated process running', async () => {
    const { location } = await newLocation();
    const unrelated = spawn('sleep', ['30']);
    assert.ok(unrelated.pid !== undefined);
    await mkdir(location, { recursive: true });
    await writeFile(
      join(location, LOCATION_LOCK_FILE_NAME),
      JSON.stringify(staleLock(await endedPid(), unrelated.pid)),
    );

    try {
      const azurite = await startLocalAzurite({ location, logger: silentLogger });
      await azurite.stop();
      assert.equal(isRunning(unrelated.pid), true);
      assert.equal(unrelated.exitCode, null);
      assert.equal(unrelated.signalCode, null);
    } finally {
      unrelated.kill('SIGKILL');
    }
  });

  it('rejects a fresh lock file without a record', async () => {
    const { location } = await newLocation();
    await mkdir(location, { recursive: true });
    await writeFile(join(location, LOCATION_LOCK_FILE_NAME), '');

    await assert.rejects(startLocalAzurite({ location, logger: silentLogger }), (error) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'blob-unavailable');
      assert.match(error.message, /in use by another command/);
      return true;
    });
  });

  it('takes over an old lock file without a record', async () => {
    const { location } = await newLocation();
    await mkdir(location, { recursive: true });
    const lockPath = join(location, LOCATION_LOCK_FILE_NAME);
    await writeFile(lockPath, '{"ownerPid":');
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await utimes(lockPath, anHourAgo, anHourAgo);

    const azurite = await startLocalAzurite({ location, logger: silentLogger });
    try {
      assert.equal((await readLock(location)).azuritePid, azurite.pid);
    } finally {
      await azurite.stop();
    }
  });

  it('stops Azurite when the command gets SIGTERM', async () => {
    const { folder, location } = await newLocation();
    const { child, azuritePid } = await startAzuriteInChild(folder, location);
    assert.equal(isRunning(azuritePid), true);

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];

    assert.ok(code === 143 || signal === 'SIGTERM', `exit code ${code}, signal ${signal}`);
    assert.equal(isRunning(azuritePid), false);
    assert.equal(existsSync(join(location, LOCATION_LOCK_FILE_NAME)), false);
  });

  it('stops Azurite when the command gets SIGKILL', async () => {
    const { folder, location } = await newLocation();
    const { child, azuritePid } = await startAzuriteInChild(folder, location);

    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;

    assert.equal(await waitUntilEnded(azuritePid, 5000), true, 'Azurite still runs');
    const next = await startLocalAzurite({ location, logger: silentLogger });
    await next.stop();
  });

  it('stops Azurite when the command exits without stop', async () => {
    const { folder, location } = await newLocation();
    const { child, azuritePid } = await startAzuriteInChild(
      folder,
      location,
      'setTimeout(() => process.exit(3), 100);',
    );

    const [code] = (await once(child, 'exit')) as [number | null];

    assert.equal(code, 3);
    assert.equal(await waitUntilEnded(azuritePid, 5000), true, 'Azurite still runs');
    const next = await startLocalAzurite({ location, logger: silentLogger });
    await next.stop();
  });
});
