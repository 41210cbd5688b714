import { randomBytes } from 'node:crypto';

import type { Settings } from '../../src/config/settings.js';
import type { LogFields, Logger } from '../../src/shared/logger.js';

/**
 * Returns the Azurite connection string that scripts/with-azurite.mjs exports.
 * @throws Error naming the fix when the tests were started without it.
 */
export function requireAzuriteConnectionString(): string {
  const connectionString = process.env.MAILSWEEP_QUARANTINE_CONNECTION_STRING;
  if (connectionString === undefined || connectionString === '') {
    throw new Error(
      'MAILSWEEP_QUARANTINE_CONNECTION_STRING is not set: run these tests through `npm test`, or ' +
        'as `node scripts/with-azurite.mjs node --import tsx --test test/quarantine/*.test.ts`',
    );
  }
  return connectionString;
}

/** Returns a container name no other test file uses, so test files can run in parallel. */
export function uniqueContainerName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Quarantine settings for a fresh container on the test Azurite. */
export function testQuarantineSettings(prefix: string): Settings['quarantine'] {
  return {
    connectionString: requireAzuriteConnectionString(),
    container: uniqueContainerName(prefix),
    retentionDays: 30,
  };
}

/** One captured log line. */
export interface LogLine {
  level: 'error' | 'warn' | 'info' | 'debug';
  message: string;
  fields?: LogFields;
}

/** Creates a logger that records every line, for asserting what was (and was not) logged. */
export function createRecordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const record =
    (level: LogLine['level']) =>
    (message: string, fields?: LogFields): void => {
      lines.push({ level, message, fields });
    };
  return {
    lines,
    error: record('error'),
    warn: record('warn'),
    info: record('info'),
    debug: record('debug'),
  };
}
