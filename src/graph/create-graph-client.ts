import type { Settings } from '../config/settings.js';
import type { Logger } from '../shared/logger.js';
import { createGraphCredential } from './graph-credential.js';
import { GraphClient, type GraphClientOptions } from './graph-client.js';

/** Options of createGraphClient beyond the settings. */
export interface CreateGraphClientOptions {
  /** Extra trusted CA in PEM for Graph and the authority host, e.g. the test simulator's. */
  ca?: string;
  /** Retry timing; the settings' maxTries applies unless this sets it. */
  retry?: GraphClientOptions['retry'];
}

/** True when settings name the Entra app (tenant id and client id), so Graph can be used. */
export function isGraphConfigured(settings: Settings): boolean {
  return settings.graph.tenantId !== undefined && settings.graph.clientId !== undefined;
}

/**
 * Builds the Graph client from settings, with the credential createGraphCredential picks.
 * @throws ScannerError `config-invalid` when the Graph tenant id or client id is missing.
 */
export function createGraphClient(
  settings: Settings,
  logger: Logger,
  options: CreateGraphClientOptions = {},
): GraphClient {
  const { kind, credential } = createGraphCredential(settings.graph, { ca: options.ca });
  logger.info('Graph client created', { credential: kind });
  return new GraphClient({
    credential,
    baseUrl: settings.graph.baseUrl,
    logger,
    ca: options.ca,
    retry: { maxTries: settings.graph.maxTries, ...options.retry },
  });
}
