import { resolve } from 'node:path';

import { Command, InvalidArgumentError } from 'commander';

import { loadSettings } from '../config/settings.js';
import { startLocalAzurite, type LocalAzurite } from '../quarantine/local-azurite.js';
import { toError } from '../shared/errors.js';
import { createJsonLogger } from '../shared/logger.js';
import { startLocalHost } from './local-host.js';
import { applyLocalSettingsFile } from './local-settings-file.js';

/**
 * `npm start`: serves every registered function on 127.0.0.1 (port 7071, or --port, or PORT).
 * Without a storage connection string it starts Azurite with blob and table services, its data
 * in `.mailsweep/azurite`, and points the quarantine and the state tables at it.
 */
let azurite: LocalAzurite | undefined;

async function main(): Promise<void> {
  const program = new Command('mailsweep-local-host')
    .description('Serve the Azure Functions of mailsweep on 127.0.0.1 for local runs')
    .option('--port <port>', 'TCP port to listen on (default: PORT or 7071)', parsePort);
  program.parse();
  const port = program.opts<{ port?: number }>().port ?? parsePort(process.env.PORT ?? '7071');

  applyLocalSettingsFile(resolve('local.settings.json'), process.env);
  const settings = loadSettings(process.env);
  const logger = createJsonLogger(settings.logLevel);
  if (
    settings.state.connectionString === undefined &&
    settings.state.tableServiceUri === undefined
  ) {
    azurite = await startLocalAzurite({
      location: resolve('.mailsweep', 'azurite'),
      logger,
      withTables: true,
    });
    // The functions read their settings from the environment, as they do in Azure.
    process.env.MAILSWEEP_QUARANTINE_CONNECTION_STRING = azurite.connectionString;
  }

  await importFunctionsQuietly();
  const host = await startLocalHost({ port, logger });
  process.stdout.write(`mailsweep functions on ${host.url}/api\n`);

  const stop = async (): Promise<void> => {
    await host.close();
    await azurite?.stop();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stop());
  }
}

/**
 * Imports the function registrations without the warnings @azure/functions 4 prints for each of
 * them outside the Functions runtime ("test mode", "Skipping call to register function"). This
 * host serves the registrations itself, so those warnings only look like a failure. Any other
 * warning printed meanwhile still reaches the console.
 */
async function importFunctionsQuietly(): Promise<void> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    const first = typeof args[0] === 'string' ? args[0] : '';
    if (!TEST_MODE_WARNING.test(first)) {
      warn(...args);
    }
  };
  try {
    await import('../../functions/index.js');
  } finally {
    console.warn = warn;
  }
}

/** The warnings of @azure/functions 4.x when no Functions runtime is present. */
const TEST_MODE_WARNING =
  /^WARNING: (Skipping call to register .* test mode\.|Failed to detect the Azure Functions runtime\.)/;

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError('must be a TCP port number between 0 and 65535');
  }
  return port;
}

main().catch(async (error: unknown) => {
  process.stderr.write(`mailsweep local host failed: ${toError(error).message}\n`);
  // A failed start (a port in use, bad settings) must not leave Azurite or timers running.
  await azurite?.stop().catch(() => undefined);
  process.exit(1);
});
