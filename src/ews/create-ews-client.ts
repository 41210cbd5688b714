import type { Settings } from '../config/settings.js';
import { createGraphCredential } from '../graph/graph-credential.js';
import { ScannerError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { EwsClient, type EwsClientOptions } from './ews-client.js';
import type { EwsAuth } from './ews-http.js';

/**
 * Builds the EWS client from settings, or returns undefined when MAILSWEEP_EWS_URL is unset.
 * OAuth uses the Graph app's credential (createGraphCredential). `overrides` replace options
 * the settings give (tests pass the simulator's CA and short retries).
 * @throws ScannerError `config-invalid` when the credentials the auth kind needs are missing.
 */
export function createEwsClient(
  settings: Settings,
  logger: Logger,
  overrides: Partial<EwsClientOptions> = {},
): EwsClient | undefined {
  const ews = settings.ews;
  if (ews.url === undefined) {
    return undefined;
  }
  let auth: EwsAuth;
  if (ews.auth === 'oauth') {
    const { credential } = createGraphCredential(settings.graph);
    auth = { kind: 'oauth', credential, scope: ews.oauthScope };
  } else {
    if (ews.username === undefined || ews.password === undefined) {
      throw new ScannerError(
        'config-invalid',
        'EWS needs MAILSWEEP_EWS_USERNAME and MAILSWEEP_EWS_PASSWORD',
      );
    }
    auth =
      ews.auth === 'basic'
        ? { kind: 'basic', username: ews.username, password: ews.password }
        : { kind: 'ntlm', username: ews.username, password: ews.password, domain: ews.domain };
  }
  logger.info('EWS client created', { auth: ews.auth, maxConcurrency: ews.maxConcurrency });
  return new EwsClient({
    url: ews.url,
    auth,
    maxConcurrency: ews.maxConcurrency,
    retry: { maxTries: ews.maxTries },
    ca: ews.caCertificates,
    logger,
    ...overrides,
  });
}
