import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { createVerdictsHandler } from '../../src/arrival/verdicts-api.js';
import { VerdictLog, type VerdictRecord } from '../../src/arrival/verdict-log.js';
import type { ApiRequest, HandlerContext } from '../../src/functions-host/registry.js';
import { openTestTable, uniqueMailbox } from './arrival-test-support.js';

const ADMIN_TOKEN = 'local-admin-token-for-tests';
const context: HandlerContext = { invocationId: 'test', log: () => undefined };
const table = await openTestTable('verdictsapi');
const handler = createVerdictsHandler({ table, auth: { kind: 'local-token', adminToken: ADMIN_TOKEN } });

function request(query: string, token: string | null = ADMIN_TOKEN, extra: Record<string, string> = {}): ApiRequest {
  const headers = new Headers(token === null ? extra : { authorization: `Bearer ${token}`, ...extra });
  return { method: 'GET', url: new URL(`http://localhost/api/verdicts${query}`), headers, params: {}, body: Buffer.alloc(0) };
}

type Page = { verdicts: VerdictRecord[]; continuation?: string };

async function get(query: string): Promise<Page> {
  const response = await handler(request(query), context);
  assert.equal(response.status, 200, JSON.stringify(response.json));
  return response.json as Page;
}

/** Writes `count` entries one minute apart, the newest a minute ago, alternating malware and spam. */
async function seed(mailbox: string, count: number): Promise<void> {
  const log = new VerdictLog(table);
  for (let index = 0; index < count; index += 1) {
    const time = new Date(Date.now() - (index + 1) * 60_000);
    const category = index % 2 === 0 ? 'malware' : 'spam';
    await log.record(
      {
        mailbox,
        messageId: `msg-${index}`,
        outcome: 'scanned',
        category,
        action: category === 'malware' ? 'quarantine' : 'junk',
        time: time.toISOString(),
        trigger: 'arrival',
      },
      time,
      `k${index}`,
    );
  }
}

describe('GET /api/verdicts', () => {
  it('rejects a caller without a token', async () => {
    const response = await handler(request('', null), context);
    assert.equal(response.status, 401);
  });

  it('rejects a signed-in caller who is not an administrator', async () => {
    const appServiceHandler = createVerdictsHandler({ table, auth: { kind: 'app-service' } });
    const principal = { auth_typ: 'aad', claims: [{ typ: 'oid', val: 'user-1' }, { typ: 'roles', val: 'Reader' }] };
    const encoded = Buffer.from(JSON.stringify(principal)).toString('base64');

    const response = await appServiceHandler(request('', null, { 'x-ms-client-principal': encoded }), context);

    assert.equal(response.status, 403);
  });

  it('admits a caller with the reader role', async () => {
    const appServiceHandler = createVerdictsHandler({ table, auth: { kind: 'app-service' } });
    const principal = { auth_typ: 'aad', claims: [{ typ: 'oid', val: 'reader-1' }, { typ: 'roles', val: 'Mailsweep.Reader' }] };
    const encoded = Buffer.from(JSON.stringify(principal)).toString('base64');

    const response = await appServiceHandler(request('', null, { 'x-ms-client-principal': encoded }), context);

    assert.equal(response.status, 200);
  });

  it('rejects a wrong token', async () => {
    const response = await handler(request('', 'wrong'), context);
    assert.equal(response.status, 401);
  });

  it('lists a mailbox newest first', async () => {
    const mailbox = uniqueMailbox();
    await seed(mailbox, 5);

    const page = await get(`?mailbox=${encodeURIComponent(mailbox)}`);

    assert.deepEqual(page.verdicts.map((record) => record.messageId), ['msg-0', 'msg-1', 'msg-2', 'msg-3', 'msg-4']);
    assert.equal(page.continuation, undefined);
  });

  it('filters by category', async () => {
    const mailbox = uniqueMailbox();
    await seed(mailbox, 4);

    const page = await get(`?mailbox=${encodeURIComponent(mailbox)}&category=spam`);

    assert.deepEqual(page.verdicts.map((record) => record.messageId), ['msg-1', 'msg-3']);
  });

  it('filters by time range', async () => {
    const mailbox = uniqueMailbox();
    await seed(mailbox, 5);
    const from = new Date(Date.now() - 3.5 * 60_000).toISOString();
    const to = new Date(Date.now() - 1.5 * 60_000).toISOString();

    const page = await get(`?mailbox=${encodeURIComponent(mailbox)}&from=${from}&to=${to}`);

    assert.deepEqual(page.verdicts.map((record) => record.messageId), ['msg-1', 'msg-2']);
  });

  it('filters by date-only bounds', async () => {
    const mailbox = uniqueMailbox();
    await seed(mailbox, 1);
    const day = new Date(Date.now() - 60_000).toISOString().slice(0, 10);
    const dayBefore = new Date(Date.parse(day) - 86_400_000).toISOString().slice(0, 10);
    const query = `?mailbox=${encodeURIComponent(mailbox)}`;

    const sameDay = await get(`${query}&from=${day}&to=${day}`);
    const before = await get(`${query}&from=${dayBefore}&to=${dayBefore}`);

    assert.deepEqual(sameDay.verdicts.map((record) => record.messageId), ['msg-0']);
    assert.deepEqual(before.verdicts, []);
  });

  it('pages with a continuation token', async () => {
    const mailbox = uniqueMailbox();
    await seed(mailbox, 5);
    const base = `?mailbox=${encodeURIComponent(mailbox)}&limit=2`;

    const seen: string[] = [];
    let page = await get(base);
    seen.push(...page.verdicts.map((record) => record.messageId));
    while (page.continuation !== undefined) {
      page = await get(`${base}&continuation=${page.continuation}`);
      seen.push(...page.verdicts.map((record) => record.messageId));
    }

    assert.deepEqual(seen, ['msg-0', 'msg-1', 'msg-2', 'msg-3', 'msg-4']);
  });

  it('lists across mailboxes by day', async () => {
    const mailbox = uniqueMailbox();
    await seed(mailbox, 3);

    const page = await get('?limit=500');

    const mine = page.verdicts.filter((record) => record.mailbox === mailbox);
    assert.deepEqual(mine.map((record) => record.messageId), ['msg-0', 'msg-1', 'msg-2']);
  });

  it('rejects invalid query parameters', async () => {
    for (const query of [
      '?category=virus',
      '?limit=0',
      '?limit=abc',
      '?from=yesterday',
      '?unknown=1',
      '?mailbox=a&mailbox=b',
      '?continuation=not*a*token',
      '?continuation=eyJwIjoieCJ9',
      `?from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z`,
      `?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`,
    ]) {
      const response = await handler(request(query), context);
      assert.equal(response.status, 400, query);
    }
  });
});
