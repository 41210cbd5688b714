import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import '../../functions/scans.js';
import type { ApiRequest, HandlerContext } from '../../src/functions-host/registry.js';
import { registeredFunctions } from '../../src/functions-host/registry.js';
import { handleScan, handleScanReport, handleScans, type ScansApiServices } from '../../src/scans/scans-api.js';
import { GTUBE } from '../../src/samples/samples.js';
import { createScanFixture, drain, plainMessage, type ScanFixture } from './scan-test-support.js';

const TOKEN = 'scans-api-test-token-0123456789abcdef';
const USER_TOKEN = 'scans-api-user-token-0123456789abcdef';
const context: HandlerContext = { invocationId: 'test', log: () => undefined };
const DAY_MS = 86_400_000;

function request(
  method: string,
  path: string,
  options: { body?: unknown; params?: Record<string, string>; token?: string } = {},
): ApiRequest {
  return {
    method,
    url: new URL(`http://127.0.0.1/api/${path}`),
    headers: new Headers({ authorization: `Bearer ${options.token ?? TOKEN}` }),
    params: options.params ?? {},
    body: Buffer.from(toBodyText(options.body)),
  };
}

function toBodyText(body: unknown): string {
  if (body === undefined) {
    return '';
  }
  return typeof body === 'string' ? body : JSON.stringify(body);
}

describe('scans API', () => {
  let fixture: ScanFixture;
  let services: ScansApiServices;
  const load = async (): Promise<ScansApiServices> => services;

  before(async () => {
    fixture = await createScanFixture({
      MAILSWEEP_AUTH_MODE: 'local-token',
      MAILSWEEP_LOCAL_ADMIN_TOKEN: TOKEN,
      MAILSWEEP_LOCAL_USER_TOKEN: USER_TOKEN,
      MAILSWEEP_LOCAL_USER_ADDRESS: 'someone@contoso.com',
      MAILSWEEP_SCAN_MAX_WINDOW_DAYS: '30',
    });
    services = fixture.start;
  });

  after(async () => {
    await fixture.close();
  });

  it('registers the scan routes and the timer', async () => {
    await import('../../functions/scheduled-scan.js');
    const routes = registeredFunctions().http.map((route) => `${route.methods.join(',')} ${route.route}`);
    assert.ok(routes.includes('GET,POST scans'));
    assert.ok(routes.includes('GET,DELETE scans/{id}'));
    assert.ok(routes.includes('GET scans/{id}/report'));
    assert.ok(registeredFunctions().timers.some((timer) => timer.name === 'scheduled-scan' && timer.schedule === '0 0 2 * * *'));
  });

  it('admits administrators only', async () => {
    const response = await handleScans(request('GET', 'scans', { token: USER_TOKEN }), context, load);
    assert.equal(response.status, 403);
    const anonymous = await handleScans(request('GET', 'scans', { token: 'wrong' }), context, load);
    assert.equal(anonymous.status, 401);
  });

  it('rejects invalid requests naming the field', async () => {
    const now = Date.now();
    const cases: Array<[unknown, string]> = [
      ['not json', '(body)'],
      [{ scope: { mailboxes: ['not-an-address'] }, window: { modifiedInLastDays: 1 } }, 'scope'],
      [{ scope: { mailboxes: ['a@contoso.com'] } }, 'window'],
      [{ scope: { mailboxes: ['a@contoso.com'] }, window: { modifiedInLastDays: 1 }, mode: 'delete-all' }, 'mode'],
      [
        {
          scope: { mailboxes: ['a@contoso.com'] },
          window: { since: new Date(now - DAY_MS).toISOString(), until: new Date(now - 2 * DAY_MS).toISOString() },
        },
        'window.since',
      ],
      [{ scope: { mailboxes: ['a@contoso.com'] }, window: { since: new Date(now + DAY_MS).toISOString() } }, 'window.since'],
      [{ scope: { mailboxes: ['a@contoso.com'] }, window: { modifiedInLastDays: 31 } }, 'window'],
      [{ scope: { all: true }, window: { modifiedInLastDays: 1 } }, 'scope'],
    ];
    for (const [body, field] of cases) {
      const response = await handleScans(request('POST', 'scans', { body }), context, load);
      assert.equal(response.status, 400, JSON.stringify(body));
      const json = response.json as { field: string; error: string };
      assert.equal(json.field.split('.')[0], field.split('.')[0], json.error);
      if (field.includes('.')) {
        assert.equal(json.field, field);
      }
    }
  });

  it('rejects a query parameter given twice', async () => {
    const response = await handleScans(request('GET', 'scans?limit=5&limit=6'), context, load);
    assert.equal(response.status, 400);
    const json = response.json as { field: string; error: string };
    assert.equal(json.field, 'limit');
    assert.match(json.error, /limit is given twice/);
  });

  it('starts, shows, reports and lists a scan', async () => {
    const mailbox = `api-${Date.now()}@contoso.com`;
    fixture.graph.sim.addMailbox(mailbox);
    fixture.graph.sim.deliverMessage(mailbox, {
      mime: plainMessage('api-clean', 'Hello.'),
      internetMessageId: '<api-clean@x>',
      receivedAt: new Date(Date.now() - 60_000),
    });
    fixture.graph.sim.deliverMessage(mailbox, {
      mime: plainMessage('api-spam', `Buy ${GTUBE}`),
      internetMessageId: '<api-spam@x>',
      receivedAt: new Date(Date.now() - 120_000),
    });
    const folder = fixture.graph.sim.mailbox(mailbox);
    const inbox = [...folder.folders.values()].find((item) => item.wellKnownName === 'inbox');
    assert.ok(inbox);

    const started = await handleScans(
      request('POST', 'scans', { body: { scope: { mailboxes: [mailbox] }, window: { modifiedInLastDays: 2 } } }),
      context,
      load,
    );
    assert.equal(started.status, 202);
    const { scanId } = started.json as { scanId: string };
    assert.equal(started.headers?.location, `/api/scans/${scanId}`);

    const running = await handleScanReport(request('GET', 'r', { params: { id: scanId } }), context, load);
    assert.equal(running.status, 409);

    await drain(fixture);

    const shown = await handleScan(request('GET', 's', { params: { id: scanId } }), context, load);
    assert.equal(shown.status, 200);
    const summary = shown.json as { status: string; mailboxes: { done: number; total: number }; findings: Record<string, number> };
    assert.equal(summary.status, 'done');
    assert.equal(summary.mailboxes.done, 1);
    assert.equal(summary.mailboxes.total, 1);
    assert.equal(summary.findings.spam, 1);

    const json = await handleScanReport(request('GET', 'r?format=json', { params: { id: scanId } }), context, load);
    assert.equal(json.status, 200);
    const items = (json.json as { items: Array<Record<string, string>> }).items;
    assert.equal(items.length, 2);
    for (const item of items) {
      assert.equal(item.folder, 'Inbox');
      assert.equal(Object.hasOwn(item, 'subject'), false);
    }

    const csv = await handleScanReport(request('GET', 'r?format=csv', { params: { id: scanId } }), context, load);
    assert.equal(csv.status, 200);
    assert.match(String(csv.headers?.['content-type']), /^text\/csv/);
    const lines = String(csv.body).trim().split('\r\n');
    assert.equal(lines[0], 'mailbox,folder,receivedAt,outcome,category,action,rule,quarantineId,error');
    assert.equal(lines.length, 3);
    assert.ok(lines.some((line) => line.includes(',spam,junk,')));

    const listed = await handleScans(request('GET', 'scans?limit=5'), context, load);
    const scans = (listed.json as { scans: Array<{ scanId: string }> }).scans;
    assert.equal(scans[0]?.scanId, scanId);

    const badFormat = await handleScanReport(request('GET', 'r?format=xml', { params: { id: scanId } }), context, load);
    assert.equal(badFormat.status, 400);
  });

  it('cancels a scan and answers 404 for an unknown one', async () => {
    const mailbox = `cancel-${Date.now()}@contoso.com`;
    fixture.graph.sim.addMailbox(mailbox);
    const started = await handleScans(
      request('POST', 'scans', { body: { scope: { mailboxes: [mailbox] }, window: { modifiedInLastDays: 1 } } }),
      context,
      load,
    );
    const { scanId } = started.json as { scanId: string };
    const cancelled = await handleScan(request('DELETE', 's', { params: { id: scanId } }), context, load);
    assert.equal(cancelled.status, 202);
    await drain(fixture);
    const shown = await handleScan(request('GET', 's', { params: { id: scanId } }), context, load);
    assert.equal((shown.json as { status: string }).status, 'cancelled');

    const missing = await handleScan(request('GET', 's', { params: { id: '0000000000000-00000000' } }), context, load);
    assert.equal(missing.status, 404);
    const invalid = await handleScan(request('GET', 's', { params: { id: '../etc' } }), context, load);
    assert.equal(invalid.status, 400);
  });

  it('escapes spreadsheet formulas in the CSV report', async () => {
    const { toCsv } = await import('../../src/scans/scan-summary.js');
    const csv = toCsv([
      { mailbox: 'a@contoso.com', folder: '=HYPERLINK("x")', outcome: 'scanned', scannedAt: 'now' },
    ]);
    assert.ok(csv.includes(`"'=HYPERLINK(""x"")"`));
  });
});
