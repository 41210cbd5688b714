import { randomBytes } from 'node:crypto';

import { TableClient } from '@azure/data-tables';

import type { AuthMode } from '../../src/auth/principal.js';
import type { UserAddressDirectory } from '../../src/auth/user-addresses.js';
import { loadSettings } from '../../src/config/settings.js';
import type { ApiRequest, ApiResponse, HandlerContext } from '../../src/functions-host/registry.js';
import { createBlobQuarantineStore } from '../../src/quarantine/blob-quarantine-store.js';
import { withQuarantineIndex } from '../../src/quarantine/indexed-store.js';
import { createQuarantineApi, type QuarantineApi } from '../../src/quarantine/quarantine-api.js';
import { QuarantineAuditLog } from '../../src/quarantine/quarantine-audit.js';
import { QuarantineIndex } from '../../src/quarantine/quarantine-index.js';
import type { NewQuarantineItem, QuarantineStore } from '../../src/quarantine/quarantine-types.js';
import type { Category, Finding } from '../../src/scanning/types.js';
import { silentLogger } from '../../src/shared/logger.js';
import { requireAzuriteConnectionString, testQuarantineSettings } from './azurite-test-support.js';

/** A store, index, audit log and API on fresh Azurite containers and tables. */
export interface QuarantineFixture {
  store: QuarantineStore;
  index: QuarantineIndex;
  audit: QuarantineAuditLog;
  api: QuarantineApi;
}

/** Opens a table no other test uses. */
export async function openUniqueTable(prefix: string): Promise<TableClient> {
  const table = TableClient.fromConnectionString(
    requireAzuriteConnectionString(),
    `${prefix}${randomBytes(6).toString('hex')}`,
    { allowInsecureConnection: true },
  );
  await table.createTable();
  return table;
}

/** Builds the quarantine API on Azurite, authenticating as App Service does by default. */
export async function createQuarantineFixture(
  options: { auth?: AuthMode; retentionDays?: number; userAddresses?: UserAddressDirectory } = {},
): Promise<QuarantineFixture> {
  const settings = { ...testQuarantineSettings('qapi'), retentionDays: options.retentionDays ?? 30 };
  const index = new QuarantineIndex(await openUniqueTable('qindex'));
  const audit = new QuarantineAuditLog(await openUniqueTable('qaudit'));
  const store = withQuarantineIndex(createBlobQuarantineStore({ settings, logger: silentLogger }), index);
  const api = createQuarantineApi({
    store,
    index,
    audit,
    auth: options.auth ?? { kind: 'app-service' },
    limits: loadSettings({}).limits,
    userAddresses: options.userAddresses,
  });
  return { store, index, audit, api };
}

/** A caller as App Service authentication describes it in x-ms-client-principal. */
export interface TestCaller {
  oid: string;
  email?: string;
  roles?: string[];
}

/** Encodes a caller as the base64 JSON of the x-ms-client-principal header. */
export function principalHeader(caller: TestCaller): string {
  const claims = [{ typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: caller.oid }];
  if (caller.email !== undefined) {
    claims.push({ typ: 'preferred_username', val: caller.email });
  }
  for (const role of caller.roles ?? []) {
    claims.push({ typ: 'roles', val: role });
  }
  return Buffer.from(JSON.stringify({ auth_typ: 'aad', claims })).toString('base64');
}

/** Builds a request below /api with the caller's identity header, if any. */
export function apiRequest(
  method: string,
  path: string,
  caller: TestCaller | undefined,
  params: Record<string, string> = {},
): ApiRequest {
  const headers = new Headers({ 'x-forwarded-for': '203.0.113.7:51234' });
  if (caller !== undefined) {
    headers.set('x-ms-client-principal', principalHeader(caller));
  }
  return { method, url: new URL(`http://127.0.0.1/api/${path}`), headers, params, body: Buffer.alloc(0) };
}

export const context: HandlerContext = { invocationId: 'test', log: () => undefined };

/** Returns a response's JSON body, typed for the test. */
export function jsonOf<T>(response: ApiResponse): T {
  return response.json as T;
}

/** Builds a finding at `mimePath` with `signature`. */
export function finding(category: Exclude<Category, 'clean'>, signature: string, mimePath = ''): Finding {
  return { stage: 'antivirus', engine: 'test', category, signature, reason: 'test finding', mimePath };
}

/** Builds a quarantine item for `mailbox`, with overrides. */
export function newItem(mailbox: string, overrides: Partial<NewQuarantineItem> = {}): NewQuarantineItem {
  return {
    mailbox,
    folder: 'Inbox',
    messageId: `AAMk${randomBytes(6).toString('hex')}`,
    internetMessageId: `<${randomBytes(6).toString('hex')}@fabrikam.com>`,
    sender: 'sender@fabrikam.com',
    recipients: [mailbox],
    subject: 'Quarterly report',
    receivedAt: new Date().toISOString(),
    verdict: { category: 'spam', action: 'quarantine', findings: [finding('spam', 'Test.Spam')], durationMs: 1 },
    ...overrides,
  };
}

/** Builds a small plain-text message, unique per call, so each put is a new item. */
export function plainMessage(subject = 'Quarterly report'): Buffer {
  return Buffer.from(
    `From: sender@fabrikam.com\r\nTo: user@contoso.com\r\nSubject: ${subject}\r\n` +
      `Message-ID: <${randomBytes(8).toString('hex')}@fabrikam.com>\r\n\r\nHello ${randomBytes(4).toString('hex')}\r\n`,
  );
}

/** Returns an address no other test uses. */
export function uniqueAddress(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}@contoso.com`;
}
