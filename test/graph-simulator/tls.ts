import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A self-signed certificate for 127.0.0.1 and its key, both PEM. */
export interface LocalCertificate {
  cert: string;
  key: string;
}

/**
 * Creates a throwaway certificate for 127.0.0.1 with the openssl command, with an EC key (fast)
 * or an RSA key. The simulator must speak
 * HTTPS because @azure/identity rejects an authority host that is not https, and the Graph SDK
 * attaches the bearer token only to https URLs.
 * @throws Error when openssl is missing or fails.
 */
export async function createLocalCertificate(
  keyType: 'ec' | 'rsa' = 'ec',
): Promise<LocalCertificate> {
  const folder = await mkdtemp(join(tmpdir(), 'graph-simulator-tls-'));
  try {
    const keyPath = join(folder, 'key.pem');
    const certPath = join(folder, 'cert.pem');
    // msal-node signs client assertions with RS256 only, so an app certificate must be RSA.
    const key =
      keyType === 'ec' ? ['ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['rsa:2048'];
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      ...key,
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ]);
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
