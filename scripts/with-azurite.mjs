// Runs a command with a throwaway Azurite (blob, queue and table services) on 127.0.0.1.
//
//   node scripts/with-azurite.mjs CMD [ARGS...]
//
// Azurite keeps everything in memory, listens on ports the OS picks, and is stopped when the
// command ends. The command inherits stdio and receives AZURITE_CONNECTION_STRING (all three
// endpoints) and MAILSWEEP_QUARANTINE_CONNECTION_STRING (the same string). This script exits
// with the command's exit code, or 128 + the signal number if the command was killed by a signal.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { constants, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const SERVICES = ['Blob', 'Queue', 'Table'];

// Azurite's built-in development account, published in the Azurite documentation: not a secret.
const DEV_ACCOUNT_NAME = 'devstoreaccount1';
const DEV_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

function log(message) {
  process.stderr.write(`with-azurite: ${message}\n`);
}

async function resolveAzuriteScript() {
  const require = createRequire(import.meta.url);
  let packageJsonPath;
  try {
    packageJsonPath = require.resolve('azurite/package.json');
  } catch {
    throw new Error('Azurite is not installed: run `npm ci` first');
  }
  const packageJson = JSON.parse(await readFile(packageJsonPath, 'utf8'));
  return resolve(dirname(packageJsonPath), packageJson.bin.azurite);
}

/** Starts Azurite and resolves with its child process and the port of each service. */
function startAzurite(script, location) {
  // --location cannot be combined with --inMemoryPersistence, so the folder is the working
  // directory instead, for anything Azurite writes beside its data.
  const args = [script, '--inMemoryPersistence'];
  for (const service of SERVICES) {
    const name = service.toLowerCase();
    args.push(`--${name}Host`, HOST, `--${name}Port`, '0');
  }
  // Telemetry is off because Azurite 3.35 otherwise collects usage data (see `azurite --help`).
  args.push('--silent', '--skipApiVersionCheck', '--disableTelemetry');
  const child = spawn(process.execPath, args, { cwd: location, stdio: ['ignore', 'pipe', 'pipe'] });

  return new Promise((resolveStart, rejectStart) => {
    const ports = {};
    let output = '';
    const finish = (error) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      child.stdout.resume();
      child.stderr.resume();
      if (error) {
        child.kill('SIGKILL');
        process.stderr.write(output);
        rejectStart(error);
      } else {
        resolveStart({ child, ports });
      }
    };
    const onData = (chunk) => {
      output += chunk.toString('utf8');
      for (const service of SERVICES) {
        const pattern = new RegExp(`${service} service is successfully listening at .*:(\\d+)`);
        const match = pattern.exec(output);
        if (match) {
          ports[service] = Number(match[1]);
        }
      }
      if (SERVICES.every((service) => ports[service] !== undefined)) {
        finish();
      }
    };
    const onExit = (code, signal) => finish(new Error(`Azurite exited early (${signal ?? code})`));
    const timer = setTimeout(
      () => finish(new Error(`Azurite did not report its ports within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', onExit);
  });
}

/** Resolves true once the port returns any HTTP response (error statuses included). */
function answers(port) {
  return new Promise((done) => {
    const options = { host: HOST, port, path: `/${DEV_ACCOUNT_NAME}`, timeout: 2000 };
    const probe = request(options, (response) => {
      response.resume();
      done(true);
    });
    probe.on('timeout', () => probe.destroy());
    probe.on('error', () => done(false));
    probe.end();
  });
}

async function waitUntilAnswering(ports) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (const service of SERVICES) {
    while (!(await answers(ports[service]))) {
      if (Date.now() > deadline) {
        throw new Error(`Azurite ${service} service on port ${ports[service]} did not respond`);
      }
      await new Promise((done) => setTimeout(done, 100));
    }
  }
}

function toConnectionString(ports) {
  const endpoint = (service) => `http://${HOST}:${ports[service]}/${DEV_ACCOUNT_NAME}`;
  return (
    `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT_NAME};AccountKey=${DEV_ACCOUNT_KEY};` +
    `BlobEndpoint=${endpoint('Blob')};QueueEndpoint=${endpoint('Queue')};` +
    `TableEndpoint=${endpoint('Table')};`
  );
}

/** Sends SIGTERM, which Azurite handles by closing its servers, and SIGKILL after a timeout. */
async function stopAzurite(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Runs the command and resolves with the exit code this script should use. */
function runCommand(command, args, env) {
  return new Promise((done) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    // Forward termination requests; the command decides how to end, and its code is reported.
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

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (command === undefined) {
    log('usage: node scripts/with-azurite.mjs CMD [ARGS...]');
    return 2;
  }

  // Azurite gets its own empty folder even in memory mode, so nothing lands in the checkout.
  const location = await mkdtemp(join(tmpdir(), 'mailsweep-azurite-'));
  let azurite;
  // A signal during start-up must not end this process before Azurite is stopped and the folder
  // removed, so it is recorded and the command is skipped.
  let earlySignal;
  const onEarlySignal = (signal) => {
    earlySignal = signal;
  };
  process.on('SIGINT', onEarlySignal).on('SIGTERM', onEarlySignal);
  try {
    azurite = await startAzurite(await resolveAzuriteScript(), location);
    await waitUntilAnswering(azurite.ports);
    process.off('SIGINT', onEarlySignal).off('SIGTERM', onEarlySignal);
    if (earlySignal !== undefined) {
      return 128 + constants.signals[earlySignal];
    }
    const connectionString = toConnectionString(azurite.ports);
    const { ports } = azurite;
    const portList = SERVICES.map((service) => `${service.toLowerCase()} ${ports[service]}`);
    log(`Azurite on ${HOST}, ports ${portList.join(', ')}`);
    return await runCommand(command, args, {
      ...process.env,
      AZURITE_CONNECTION_STRING: connectionString,
      MAILSWEEP_QUARANTINE_CONNECTION_STRING: connectionString,
    });
  } finally {
    process.off('SIGINT', onEarlySignal).off('SIGTERM', onEarlySignal);
    if (azurite) {
      await stopAzurite(azurite.child);
    }
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
