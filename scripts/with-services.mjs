// Runs a command with a throwaway clamd and rspamd on 127.0.0.1, each on a free port and in a
// temporary folder of its own (configuration, database, sockets, pid files, logs).
//
//   node scripts/with-services.mjs CMD [ARGS...]
//
// The command inherits stdio and receives TEST_CLAMD_HOST, TEST_CLAMD_PORT,
// TEST_CLAMD_STREAM_MAX_BYTES, TEST_CLAMD_HASH_SAMPLE (a file only the test database's hash
// signature matches), TEST_CLAMD_PID, TEST_RSPAMD_URL and TEST_RSPAMD_PID. Both daemons are
// stopped by process group when the command ends, fails or this script receives SIGINT, SIGTERM
// or SIGHUP. The exit code is the command's, or 128 + the signal number if it was killed by a
// signal. `npm test` wraps scripts/with-azurite.mjs in this script.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

import { startClamd } from './services/clamd.mjs';
import { findBinary, findFreePort, HOST, lookupUser, stopDaemon } from './services/process-support.mjs';
import { startRspamd } from './services/rspamd.mjs';

const INSTALL_HINT =
  'install the Debian packages with `apt-get install -y --no-install-recommends clamav-daemon rspamd`';

function log(message) {
  process.stderr.write(`with-services: ${message}\n`);
}

/** Runs the command and resolves with the exit code this script should use. */
function runCommand(command, args, env) {
  return new Promise((done) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    const forward = (signal) => child.kill(signal);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.on(signal, forward);
    }
    child.on('error', (error) => {
      log(`cannot run ${command}: ${error.message}`);
      done(127);
    });
    child.on('exit', (code, signal) => {
      for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
        process.off(name, forward);
      }
      done(code ?? 128 + (constants.signals[signal] ?? 0));
    });
  });
}

async function findDaemons() {
  const clamd = await findBinary('clamd');
  const rspamd = await findBinary('rspamd');
  const missing = [
    clamd ? undefined : 'clamd (Debian package clamav-daemon)',
    rspamd ? undefined : 'rspamd (Debian package rspamd)',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new Error(`${missing.join(' and ')} not found; ${INSTALL_HINT}`);
  }
  return { clamd, rspamd };
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (command === undefined) {
    log('usage: node scripts/with-services.mjs CMD [ARGS...]');
    return 2;
  }
  const binaries = await findDaemons();
  const location = await mkdtemp(join(tmpdir(), 'mailsweep-services-'));
  // rspamd's workers run as _rspamd when this runs as root, and must reach their folder.
  await chmod(location, 0o755);
  const daemons = [];
  // A signal during start-up must not end this process before the daemons are stopped and the
  // folder removed, so it is recorded and the command is skipped.
  let earlySignal;
  const onEarlySignal = (signal) => {
    earlySignal = signal;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, onEarlySignal);
  }
  try {
    const rspamdUser = process.getuid?.() === 0 ? lookupUser('_rspamd') : undefined;
    const register = (child) => daemons.push(child);
    // Both start-ups settle before any failure is raised, so that cleanup never races a start-up
    // that is still writing into the folder.
    const [clamdStart, rspamdStart] = await Promise.allSettled([
      findFreePort().then((port) =>
        startClamd(binaries.clamd, join(location, 'clamd'), port, register),
      ),
      findFreePort().then((port) =>
        startRspamd(binaries.rspamd, join(location, 'rspamd'), port, rspamdUser, register),
      ),
    ]);
    if (clamdStart.status === 'rejected') {
      throw clamdStart.reason;
    }
    if (rspamdStart.status === 'rejected') {
      throw rspamdStart.reason;
    }
    const clamd = clamdStart.value;
    const rspamd = rspamdStart.value;
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.off(signal, onEarlySignal);
    }
    if (earlySignal !== undefined) {
      return 128 + constants.signals[earlySignal];
    }
    log(`clamd on ${HOST}:${clamd.env.TEST_CLAMD_PORT}, rspamd on ${rspamd.env.TEST_RSPAMD_URL}`);
    return await runCommand(command, args, { ...process.env, ...clamd.env, ...rspamd.env });
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.off(signal, onEarlySignal);
    }
    await Promise.all(daemons.map((child) => stopDaemon(child)));
    await rm(location, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    log(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  },
);
