// Starts clamd for tests and benchmarks on a database this script writes itself, because
// freshclam needs the internet. The database has two local signatures: one for the EICAR test
// string and one MD5 hash signature for a sample file written beside it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';

import { HOST, waitFor } from './process-support.mjs';

/** clamd's own default StreamMaxLength (25 MiB), set explicitly so that tests can rely on it. */
export const CLAMD_STREAM_MAX_BYTES = 25 * 1024 * 1024;

// The EICAR anti-malware test string, published by EICAR for exactly this use: not malware.
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** Bytes of the sample file that only the hash signature `Mailsweep.Test.HashSample` matches. */
function hashSampleBytes() {
  return Buffer.from('mailsweep clamd hash signature sample\n'.repeat(64), 'latin1');
}

async function writeDatabase(folder) {
  const database = join(folder, 'db');
  await mkdir(database, { recursive: true });
  // .ndb body signature: name, target type 0 (any file), offset * (anywhere), hex bytes.
  const eicarHex = Buffer.from(EICAR, 'latin1').toString('hex');
  await writeFile(join(database, 'mailsweep-test.ndb'), `Mailsweep.Test.Eicar:0:*:${eicarHex}\n`);
  // .hdb hash signature: MD5, size in bytes, name.
  const sample = hashSampleBytes();
  const md5 = createHash('md5').update(sample).digest('hex');
  await writeFile(join(database, 'mailsweep-test.hdb'), `${md5}:${sample.length}:Mailsweep.Test.HashSample\n`);
  const samplePath = join(folder, 'hash-sample.bin');
  await writeFile(samplePath, sample);
  return { database, samplePath };
}

function writeConfig(folder, database, port) {
  const lines = [
    'Foreground yes',
    `TCPSocket ${port}`,
    `TCPAddr ${HOST}`,
    `DatabaseDirectory ${database}`,
    `LogFile ${join(folder, 'clamd.log')}`,
    `PidFile ${join(folder, 'clamd.pid')}`,
    `TemporaryDirectory ${folder}`,
    `StreamMaxLength ${CLAMD_STREAM_MAX_BYTES / 1024 / 1024}M`,
    'MaxThreads 8',
    'SelfCheck 0',
  ];
  const path = join(folder, 'clamd.conf');
  return writeFile(path, `${lines.join('\n')}\n`).then(() => path);
}

/** Resolves true when clamd returns a VERSION reply on the port. */
export function clamdAnswers(port) {
  return new Promise((done) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    const finish = (answered) => {
      socket.destroy();
      done(answered);
    };
    socket.setTimeout(2000, () => finish(false));
    socket.on('connect', () => socket.write('zVERSION\0'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\0')) {
        finish(reply.startsWith('ClamAV '));
      }
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

/**
 * Starts clamd in `folder` on `port` and resolves once it answers VERSION, with the child process
 * and the environment variables the tests read. `register` receives the child as soon as it is
 * spawned, so that the caller can stop it even when start-up fails.
 */
export async function startClamd(binary, folder, port, register) {
  await mkdir(folder, { recursive: true });
  const { database, samplePath } = await writeDatabase(folder);
  const config = await writeConfig(folder, database, port);
  const log = await open(join(folder, 'clamd.out'), 'a');
  const child = spawn(binary, ['--config-file', config], {
    stdio: ['ignore', log.fd, log.fd],
    detached: true,
  });
  // The child has its own copy of the descriptor.
  await log.close();
  register(child);
  await waitFor(child, 'clamd', () => clamdAnswers(port), join(folder, 'clamd.log'));
  return {
    child,
    env: {
      TEST_CLAMD_HOST: HOST,
      TEST_CLAMD_PORT: String(port),
      TEST_CLAMD_STREAM_MAX_BYTES: String(CLAMD_STREAM_MAX_BYTES),
      TEST_CLAMD_HASH_SAMPLE: samplePath,
      TEST_CLAMD_PID: String(child.pid),
    },
  };
}
