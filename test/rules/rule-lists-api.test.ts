import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import '../../functions/rules.js';
import { loadSettings } from '../../src/config/settings.js';
import {
  type ApiRequest,
  type HandlerContext,
  registeredFunctions,
} from '../../src/functions-host/registry.js';
import { createQuarantineContainerClient } from '../../src/quarantine/blob-container.js';
import { handleRuleList } from '../../src/rules/rule-lists-api.js';
import { createRuleStore } from '../../src/rules/rule-store.js';
import { handleRules, type RulesApiServices } from '../../src/rules/rules-api.js';
import { testQuarantineSettings } from '../quarantine/azurite-test-support.js';

const TOKEN = 'rule-lists-test-token-0123456789abcdef';

const context: HandlerContext = { invocationId: 'test', log: () => undefined };

function services(): RulesApiServices {
  const settings = loadSettings({
    MAILSWEEP_AUTH_MODE: 'local-token',
    MAILSWEEP_LOCAL_ADMIN_TOKEN: TOKEN,
  });
  const container = createQuarantineContainerClient({
    settings: testQuarantineSettings(`lists${randomBytes(3).toString('hex')}`),
  });
  return { settings, store: createRuleStore(container, settings.rules.maxRules) };
}

function request(
  method: string,
  name: string,
  body = '',
  headers: Record<string, string> = {},
): ApiRequest {
  return {
    method,
    url: new URL(`http://127.0.0.1/api/rules/lists/${name}`),
    headers: new Headers({ authorization: `Bearer ${TOKEN}`, ...headers }),
    params: { name },
    body: Buffer.from(body),
  };
}

const blockedRuleSet = {
  lists: { blocked: { file: 'blocked.txt' } },
  rules: [
    {
      name: 'Blocked network',
      conditions: [{ field: 'sender.ip', operator: 'inList', value: 'blocked' }],
      actions: [{ type: 'delete' }],
    },
  ],
};

function putRuleSet(api: RulesApiServices, ruleSet: unknown) {
  const put: ApiRequest = {
    method: 'PUT',
    url: new URL('http://127.0.0.1/api/rules'),
    headers: new Headers({ authorization: `Bearer ${TOKEN}` }),
    params: {},
    body: Buffer.from(JSON.stringify(ruleSet)),
  };
  return handleRules(put, context, async () => api);
}

describe('rule lists API', () => {
  it('registers GET, PUT and DELETE /api/rules/lists/{name}', () => {
    const routes = registeredFunctions().http.map(
      (route) => `${route.methods.join(',')} ${route.route}`,
    );
    assert.ok(routes.includes('GET,PUT,DELETE rules/lists/{name}'));
  });

  it('stores a text list and reads it back', async () => {
    const api = services();
    const text = '# networks\n198.51.100.0/24\nfabrikam.com\n';
    const put = await handleRuleList(request('PUT', 'blocked.txt', text), context, async () => api);
    assert.equal(put.status, 200);
    assert.deepEqual(put.json, { list: 'blocked.txt', entries: 2, ruleSetVersion: undefined });

    const get = await handleRuleList(request('GET', 'blocked.txt'), context, async () => api);
    assert.equal(get.status, 200);
    assert.equal(get.body, text);
  });

  it('stores a JSON list as lines', async () => {
    const api = services();
    const body = JSON.stringify({ values: ['partner.example', 'ceo@contoso.com'] });
    const put = await handleRuleList(
      request('PUT', 'partners.txt', body, { 'content-type': 'application/json' }),
      context,
      async () => api,
    );
    assert.equal(put.status, 200);
    assert.equal(await api.store.readList('partners.txt'), 'partner.example\nceo@contoso.com\n');
  });

  it('rejects a malformed list, naming the line', async () => {
    const api = services();
    const put = await handleRuleList(
      request('PUT', 'blocked.txt', '198.51.100.0/24\nnot an entry\n'),
      context,
      async () => api,
    );
    assert.equal(put.status, 400);
    const issues = (put.json as { issues: { path: string; message: string }[] }).issues;
    assert.equal(issues[0]?.path, 'lists/blocked.txt');
    assert.match(issues[0]?.message ?? '', /line 2 is not an address/);
    assert.equal(await api.store.readList('blocked.txt'), undefined);
  });

  it('rejects a list name with a path', async () => {
    const api = services();
    const put = await handleRuleList(request('PUT', '..%2Fcurrent.json', 'x.com'), context, async () => api);
    assert.equal(put.status, 400);
  });

  it('admits administrators only', async () => {
    const api = services();
    const anonymous = { ...request('GET', 'blocked.txt'), headers: new Headers() };
    assert.equal((await handleRuleList(anonymous, context, async () => api)).status, 401);
  });

  it('names the rule of a set whose list is missing', async () => {
    const api = services();
    const put = await putRuleSet(api, blockedRuleSet);
    assert.equal(put.status, 400);
    const issues = (put.json as { issues: { path: string; rule?: string; message: string }[] })
      .issues;
    assert.equal(issues[0]?.path, 'rules[0].conditions[0].value');
    assert.equal(issues[0]?.rule, 'Blocked network');
    assert.match(issues[0]?.message ?? '', /file "blocked.txt" was not found/);
  });

  it('stores a new rule set version when a list in use changes', async () => {
    const api = services();
    await handleRuleList(request('PUT', 'blocked.txt', '198.51.100.0/24\n'), context, async () => api);
    assert.equal((await putRuleSet(api, blockedRuleSet)).status, 200);

    const put = await handleRuleList(
      request('PUT', 'blocked.txt', '203.0.113.0/24\n'),
      context,
      async () => api,
    );
    assert.equal(put.status, 200);
    assert.equal((put.json as { ruleSetVersion?: number }).ruleSetVersion, 2);
    const stored = await api.store.read();
    assert.equal(stored?.version, 2);
    const compiled = await api.store.compile(stored?.ruleSet, stored?.version);
    assert.equal(compiled.version, 2);
  });

  it('refuses to delete a list in use, deletes one that is not', async () => {
    const api = services();
    await handleRuleList(request('PUT', 'blocked.txt', '198.51.100.0/24\n'), context, async () => api);
    await handleRuleList(request('PUT', 'unused.txt', 'x.example\n'), context, async () => api);
    assert.equal((await putRuleSet(api, blockedRuleSet)).status, 200);

    const inUse = await handleRuleList(request('DELETE', 'blocked.txt'), context, async () => api);
    assert.equal(inUse.status, 409);
    const unused = await handleRuleList(request('DELETE', 'unused.txt'), context, async () => api);
    assert.equal(unused.status, 204);
    const again = await handleRuleList(request('DELETE', 'unused.txt'), context, async () => api);
    assert.equal(again.status, 404);
  });
});
