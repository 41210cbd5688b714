import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import type { LocalHost } from '../../src/functions-host/local-host.js';
import { overrideRealtimeServices } from '../../src/realtime/provider.js';
import { sendNotificationXml } from '../ews-simulator/ews-push.js';
import { ADMIN_TOKEN, createTestServices, startTestHost } from '../helpers/realtime-fixture.js';

// The functions read settings from the environment, as in Azure, so the test sets them first.
process.env.MAILSWEEP_AUTH_MODE = 'local-token';
process.env.MAILSWEEP_LOCAL_ADMIN_TOKEN = ADMIN_TOKEN;
process.env.MAILSWEEP_QUARANTINE_CONTAINER = `qvalid-${randomBytes(6).toString('hex')}`;
await import('../../functions/index.js');
const { buildMailsweepOpenApi } = await import('../../src/app/openapi.js');

/** One request with one invalid field, and the field the 400 must name. */
interface BadInput {
  /** The documented operation, `METHOD /path-template`. */
  operation: string;
  /** Path and query below /api. */
  url: string;
  body?: string;
  headers?: Record<string, string>;
  field: string;
}

const SCAN_ID = '1234567890123-0123abcd';
const json = { 'content-type': 'application/json' };

const BAD_INPUTS: BadInput[] = [
  { operation: 'GET /quarantine/items', url: 'quarantine/items?limit=abc', field: 'limit' },
  { operation: 'GET /quarantine/items/{id}', url: 'quarantine/items/not-an-id', field: 'id' },
  { operation: 'DELETE /quarantine/items/{id}', url: 'quarantine/items/not-an-id', field: 'id' },
  {
    operation: 'GET /quarantine/items/{id}/message',
    url: 'quarantine/items/not-an-id/message',
    field: 'id',
  },
  {
    operation: 'POST /quarantine/items/{id}/release',
    url: 'quarantine/items/not-an-id/release',
    body: '{}',
    field: 'id',
  },
  {
    operation: 'POST /quarantine/items/{id}/release-requests',
    url: 'quarantine/items/not-an-id/release-requests',
    body: '{}',
    field: 'id',
  },
  {
    operation: 'PUT /quarantine/items/{id}/legal-hold',
    url: 'quarantine/items/not-an-id/legal-hold',
    body: '{"hold":true}',
    field: 'id',
  },
  {
    operation: 'GET /quarantine/release-requests',
    url: 'quarantine/release-requests?status=lost',
    field: 'status',
  },
  {
    operation: 'POST /quarantine/release-requests/{requestId}/approve',
    url: 'quarantine/release-requests/42/approve',
    body: '{}',
    field: 'requestId',
  },
  {
    operation: 'POST /quarantine/release-requests/{requestId}/deny',
    url: 'quarantine/release-requests/42/deny',
    body: '{}',
    field: 'requestId',
  },
  {
    operation: 'POST /quarantine/bulk',
    url: 'quarantine/bulk',
    body: JSON.stringify({ action: 'explode', ids: ['0'.repeat(32)] }),
    field: 'action',
  },
  { operation: 'GET /quarantine/audit', url: 'quarantine/audit?day=yesterday', field: 'day' },
  { operation: 'GET /quarantine/counts', url: 'quarantine/counts?category=spam', field: 'category' },
  {
    operation: 'POST /mailboxes',
    url: 'mailboxes',
    body: JSON.stringify({ address: 'not-an-address' }),
    field: 'address',
  },
  {
    operation: 'POST /graph/notifications',
    url: `graph/notifications?validationToken=${encodeURIComponent('<b>')}`,
    field: 'validationToken',
  },
  {
    operation: 'POST /graph/lifecycle',
    url: 'graph/lifecycle',
    body: JSON.stringify({ value: 'not a list' }),
    field: 'value',
  },
  {
    operation: 'POST /ews/notifications',
    url: 'ews/notifications?id=x&key=y',
    body: sendNotificationXml({ id: '', previousWatermark: 'AQAAAA==' }, []),
    headers: { 'content-type': 'text/xml' },
    field: 'subscriptionId',
  },
  { operation: 'GET /scans', url: 'scans?limit=0', field: 'limit' },
  {
    operation: 'POST /scans',
    url: 'scans',
    body: JSON.stringify({ scope: { mailboxes: ['nobody'] }, window: { modifiedInLastDays: 1 } }),
    field: 'scope.mailboxes.0',
  },
  { operation: 'GET /scans/{id}', url: 'scans/..%2Fx', field: 'id' },
  { operation: 'DELETE /scans/{id}', url: 'scans/not-a-scan', field: 'id' },
  { operation: 'GET /scans/{id}/report', url: `scans/${SCAN_ID}/report?format=xml`, field: 'format' },
  {
    operation: 'PUT /rules',
    url: 'rules',
    body: JSON.stringify({ rules: [{ name: 5 }] }),
    field: 'rules[0].name',
  },
  {
    operation: 'PUT /rules',
    url: 'rules',
    body: JSON.stringify({ rules: [] }),
    headers: { 'if-match': 'latest' },
    field: 'If-Match',
  },
  { operation: 'POST /rules/test', url: 'rules/test', body: '', field: 'body' },
  { operation: 'GET /rules/lists/{name}', url: 'rules/lists/bad%20name', field: 'name' },
  {
    operation: 'PUT /rules/lists/{name}',
    url: 'rules/lists/blocked.txt',
    body: JSON.stringify({ values: ['a.example', 7] }),
    headers: json,
    field: 'values.1',
  },
  { operation: 'DELETE /rules/lists/{name}', url: 'rules/lists/.hidden', field: 'name' },
  { operation: 'GET /verdicts', url: 'verdicts?category=virus', field: 'category' },
  { operation: 'DELETE /mailboxes/{mailbox}', url: 'mailboxes/..%2f..%2fx', field: 'mailbox' },
];

/**
 * Documented operations whose input has no 400: the value is looked up as it is, and a value that
 * names nothing gets 404 (or, for EWS, Unsubscribe).
 */
const NO_BAD_REQUEST = new Set(['GET /ui/{path}', 'HEAD /ui/{path}']);

describe('400 responses of every area', () => {
  let host: LocalHost;

  before(async () => {
    const started = await startTestHost(
      async (baseUrl) => (await createTestServices({ baseUrl })).services,
    );
    host = started.host;
  });
  after(async () => {
    overrideRealtimeServices(undefined);
    await host.close();
  });

  it('covers every operation that takes input', () => {
    const document = buildMailsweepOpenApi() as {
      paths: Record<string, Record<string, { parameters: unknown[]; requestBody?: unknown }>>;
    };
    const covered = new Set(BAD_INPUTS.map((input) => input.operation));
    const uncovered: string[] = [];
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const key = `${method.toUpperCase()} ${path}`;
        const takesInput = operation.parameters.length > 0 || operation.requestBody !== undefined;
        if (takesInput && !covered.has(key) && !NO_BAD_REQUEST.has(key)) {
          uncovered.push(key);
        }
      }
    }
    assert.deepEqual(uncovered, []);
  });

  for (const input of BAD_INPUTS) {
    it(`names ${input.field} for ${input.operation}`, async () => {
      const method = input.operation.slice(0, input.operation.indexOf(' '));
      const response = await fetch(`${host.url}/api/${input.url}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...input.headers },
        body: input.body,
      });
      const text = await response.text();
      assert.equal(response.status, 400, text);
      const error = response.headers.get('content-type')?.startsWith('application/json')
        ? (JSON.parse(text) as { error: string }).error
        : text;
      assert.ok(error.includes(input.field), `${error} does not name ${input.field}`);
    });
  }
});
