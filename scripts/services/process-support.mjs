// Helpers shared by the daemon launchers: finding binaries, free ports, start-up waits, stopping.
import { execFileSync } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 10_000;

/** Looks for an executable on PATH and in the sbin folders, which a non-root PATH may lack. */
export async function findBinary(name) {
  const folders = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin'];
  for (const folder of folders.filter((entry) => entry.length > 0)) {
    const candidate = join(folder, name);
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

/** Asks the OS for a free TCP port on HOST. Another process could take it before the daemon binds. */
export function findFreePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Returns the uid and gid of a system user, or undefined when it does not exist. */
export function lookupUser(name) {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/**
 * Polls `answers` every 100 ms until it resolves true. Rejects, with the end of the daemon's log,
 * when the child exits first or START_TIMEOUT_MS passes.
 */
export async function waitFor(child, name, answers, logPath) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited;
  child.once('exit', (code, signal) => {
    exited = signal ?? code;
  });
  for (;;) {
    if (exited !== undefined) {
      throw new Error(`${name} exited during start-up (${exited}); log:\n${await tail(logPath)}`);
    }
    if (await answers()) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`${name} did not answer within ${START_TIMEOUT_MS} ms; log:\n${await tail(logPath)}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}

async function tail(path) {
  const text = await readFile(path, 'utf8').catch(() => '(no log)');
  return text.split('\n').slice(-20).join('\n');
}

/**
 * Stops a daemon started with `detached: true`, which made it the leader of its own process
 * group: SIGTERM to the group (the daemon and the workers it forked), then SIGKILL after
 * STOP_TIMEOUT_MS.
 */
export async function stopDaemon(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise((done) => child.once('exit', done));
  signalGroup(child.pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
  // Workers that outlive their main process would keep the port; the group is ours alone.
  signalGroup(child.pid, 'SIGKILL');
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}
