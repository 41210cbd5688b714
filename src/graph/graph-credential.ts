import {
  ClientAssertionCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
  type TokenCredentialOptions,
} from '@azure/identity';

import type { GraphSettings } from '../config/settings.js';
import { ScannerError } from '../shared/errors.js';

/** Kind of credential createGraphCredential picked. */
export type GraphCredentialKind = 'client-secret' | 'certificate' | 'managed-identity-federated';

/** Options for createGraphCredential. */
export interface GraphCredentialOptions {
  /** Extra trusted CA in PEM for the authority host, for a private token endpoint in tests. */
  ca?: string;
}

/**
 * Audience a managed identity's token must have to serve as an app's federated credential
 * (Entra workload identity federation).
 */
const FEDERATION_SCOPE = 'api://AzureADTokenExchange/.default';

/**
 * Picks the credential for the Entra app from settings: a client secret, else a certificate,
 * else the Function app's managed identity as a federated credential of the app.
 * @throws ScannerError `config-invalid` when the tenant id or client id is missing.
 */
export function createGraphCredential(
  settings: GraphSettings,
  options: GraphCredentialOptions = {},
): { kind: GraphCredentialKind; credential: TokenCredential } {
  const { tenantId, clientId } = settings;
  if (tenantId === undefined || clientId === undefined) {
    throw new ScannerError(
      'config-invalid',
      'Graph needs MAILSWEEP_GRAPH_TENANT_ID and MAILSWEEP_GRAPH_CLIENT_ID',
    );
  }
  const common: TokenCredentialOptions & { disableInstanceDiscovery?: boolean } = {};
  if (settings.authorityHost !== undefined) {
    common.authorityHost = settings.authorityHost;
    // Instance discovery looks the authority up in the public cloud, which has no entry for a
    // private host.
    common.disableInstanceDiscovery = true;
  }
  if (options.ca !== undefined) {
    common.tlsOptions = { ca: options.ca };
  }
  if (settings.clientSecret !== undefined) {
    return {
      kind: 'client-secret',
      credential: new ClientSecretCredential(tenantId, clientId, settings.clientSecret, common),
    };
  }
  if (settings.certificatePath !== undefined) {
    return {
      kind: 'certificate',
      credential: new ClientCertificateCredential(
        tenantId,
        clientId,
        { certificatePath: settings.certificatePath },
        common,
      ),
    };
  }
  const managedIdentity =
    settings.managedIdentityClientId === undefined
      ? new ManagedIdentityCredential()
      : new ManagedIdentityCredential({ clientId: settings.managedIdentityClientId });
  const getAssertion = async (): Promise<string> => {
    const token = await managedIdentity.getToken(FEDERATION_SCOPE);
    return token.token;
  };
  return {
    kind: 'managed-identity-federated',
    credential: new ClientAssertionCredential(tenantId, clientId, getAssertion, common),
  };
}
