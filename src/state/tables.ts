import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { DefaultAzureCredential } from '@azure/identity';

import type { Settings } from '../config/settings.js';
import { ScannerError } from '../shared/errors.js';

/**
 * Azure Table storage for mailsweep's own state: monitored mailboxes, subscriptions, delta
 * states, the verdict log. Every table lives in one storage account, reached by a connection
 * string (Azurite locally) or by the table service URI with the app's managed identity.
 */

/** The tables mailsweep uses. The infrastructure templates create the same names. */
export const STATE_TABLES = {
  mailboxes: 'mailboxes',
  subscriptions: 'subscriptions',
  ewsSubscriptions: 'ewssubscriptions',
  syncStates: 'syncstates',
  verdicts: 'verdicts',
  messageLocks: 'messagelocks',
  leases: 'leases',
  quarantineIndex: 'quarantineindex',
  quarantineAudit: 'quarantineaudit',
  digestState: 'digeststate',
  /** Mailbox scans: scan records, per-mailbox progress rows and per-message report rows. */
  scans: 'scans',
  quarantineReleases: 'quarantinereleases',
  releaseRequests: 'quarantinerequests',
} as const;

export type StateTableName = (typeof STATE_TABLES)[keyof typeof STATE_TABLES];

/** Options for opening a state table. */
export interface StateTableOptions {
  settings: Settings['state'];
  /** Credential for `settings.tableServiceUri`. Default: DefaultAzureCredential. */
  credential?: TokenCredential;
}

/**
 * Returns the client of one state table, creating the table when it is missing.
 * @throws ScannerError `config-invalid` when no table storage is configured.
 */
export async function openStateTable(
  options: StateTableOptions,
  table: StateTableName,
): Promise<TableClient> {
  const client = createStateTableClient(options, table);
  try {
    await client.createTable();
  } catch (error) {
    // createTable already ignores TableAlreadyExists; anything else is the storage account's.
    throw new ScannerError('blob-unavailable', `Table storage is unavailable (table ${table})`, {
      cause: error,
    });
  }
  return client;
}

/** Builds the client of one state table without touching the service. */
export function createStateTableClient(
  options: StateTableOptions,
  table: StateTableName,
): TableClient {
  const { settings } = options;
  if (settings.connectionString !== undefined) {
    const clientOptions: TableServiceClientOptions = {
      allowInsecureConnection: /UseDevelopmentStorage=true|https?:\/\/127\.0\.0\.1/.test(
        settings.connectionString,
      ),
    };
    try {
      return TableClient.fromConnectionString(settings.connectionString, table, clientOptions);
    } catch (error) {
      throw new ScannerError('config-invalid', 'The table storage connection string is malformed', {
        cause: error,
      });
    }
  }
  if (settings.tableServiceUri !== undefined) {
    return new TableClient(
      settings.tableServiceUri,
      table,
      options.credential ?? new DefaultAzureCredential(),
    );
  }
  throw new ScannerError(
    'config-invalid',
    'Table storage is not configured: set MAILSWEEP_STATE_CONNECTION_STRING, ' +
      'MAILSWEEP_QUARANTINE_CONNECTION_STRING or MAILSWEEP_STATE_TABLE_URI',
  );
}
