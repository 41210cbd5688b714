import { readFileSync } from 'node:fs';

import { loadSettings, type Settings } from '../../src/config/settings.js';

/** The clamd and rspamd that scripts/with-services.mjs started for this test run. */
export interface TestDaemons {
  clamdHost: string;
  clamdPort: number;
  /** StreamMaxLength of the test clamd, in bytes. */
  clamdStreamMaxBytes: number;
  /** Bytes that only the test database's hash signature matches. */
  hashSample: Uint8Array;
  rspamdUrl: string;
}

/** Signature names clamd reports for the test database (local signatures get `.UNOFFICIAL`). */
export const EICAR_SIGNATURE = 'Mailsweep.Test.Eicar.UNOFFICIAL';
export const HASH_SAMPLE_SIGNATURE = 'Mailsweep.Test.HashSample.UNOFFICIAL';

/**
 * Reads the daemons' addresses from the environment.
 * @throws Error naming the wrapper to run through, so that no daemon test is silently skipped.
 */
export function readTestDaemons(): TestDaemons {
  const env = process.env;
  const { TEST_CLAMD_HOST, TEST_CLAMD_PORT, TEST_RSPAMD_URL, TEST_CLAMD_HASH_SAMPLE } = env;
  if (!TEST_CLAMD_HOST || !TEST_CLAMD_PORT || !TEST_RSPAMD_URL || !TEST_CLAMD_HASH_SAMPLE) {
    throw new Error(
      'TEST_CLAMD_* and TEST_RSPAMD_URL are not set: run the tests with `npm test`, or wrap the ' +
        'command in `node scripts/with-services.mjs`',
    );
  }
  return {
    clamdHost: TEST_CLAMD_HOST,
    clamdPort: Number(TEST_CLAMD_PORT),
    clamdStreamMaxBytes: Number(env.TEST_CLAMD_STREAM_MAX_BYTES),
    hashSample: readFileSync(TEST_CLAMD_HASH_SAMPLE),
    rspamdUrl: TEST_RSPAMD_URL,
  };
}

/** Settings with both daemons of this test run as engines, plus any overrides. */
export function daemonSettings(overrides: Record<string, string> = {}): Settings {
  const daemons = readTestDaemons();
  return loadSettings({
    MAILSWEEP_ENGINES_ANTIVIRUS: 'embedded,clamd',
    MAILSWEEP_ENGINES_ANTISPAM: 'embedded,rspamd',
    MAILSWEEP_CLAMD_HOST: daemons.clamdHost,
    MAILSWEEP_CLAMD_PORT: String(daemons.clamdPort),
    MAILSWEEP_CLAMD_STREAM_MAX_BYTES: String(daemons.clamdStreamMaxBytes),
    MAILSWEEP_RSPAMD_URL: daemons.rspamdUrl,
    ...overrides,
  });
}
