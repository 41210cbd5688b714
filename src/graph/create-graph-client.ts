import type { Settings } from '../config/settings.js';
import type { Logger } from '../shared/logger.js';
import { createGraphCredential } from './graph-credential.js';
import { GraphClient } from './graph-client.js';

/**
 * Builds the Graph client from settings, with the credential createGraphCredential picks.
 * @throws ScannerError `config-invalid` when the Graph tenant id or client id is missing.
 */
export function createGraphClient(settings: Settings, logger: Logger): GraphClient {
  const { kind, credential } = createGraphCredential(settings.graph);
  logger.info('Graph client created', { credential: kind });
  return new GraphClient({
    credential,
    baseUrl: settings.graph.baseUrl,
    logger,
    retry: { maxTries: settings.graph.maxTries },
  });
}
