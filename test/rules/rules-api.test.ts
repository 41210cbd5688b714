import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import '../../functions/rules.js';
import { loadSettings } from '../../src/config/settings.js';
import {
  type ApiRequest,
  type HandlerContext,
  registeredFunctions,
} from '../../src/functions-host/registry.js';
import { createQuarantineContainerClient } from '../../src/quarantine/blob-container.js';
import { handleRules, handleRulesTest, type RulesApiServices } from '../../src/rules/rules-api.js';
import { createRuleStore } from '../../src/rules/rule-store.js';
import { testQuarantineSettings } from '../quarantine/azurite-test-support.js';
import { buildMessage } from './rule-fixtures.js';

const TOKEN = 'rules-api-test-token-0123456789abcdef';

const context: HandlerContext = { invocationId: 'test', log: () => undefined };

function services(): RulesApiServices {
  const settings = loadSettings({
    MAILSWEEP_AUTH_MODE: 'local-token',
    MAILSWEEP_LOCAL_ADMIN_TOKEN: TOKEN,
  });
  const container = createQuarantineContainerClient({
    settings: testQuarantineSettings('rulesapi'),
  });
  return { settings, store: createRuleStore(container, settings.rules.maxRules) };
}

function request(
  method: string,
  body: string | Uint8Array = '',
  headers: Record<string, string> = {},
): ApiRequest {
  return {
    method,
    url: new URL('http://127.0.0.1/api/rules'),
    headers: new Headers({ authorization: `Bearer ${TOKEN}`, ...headers }),
    params: {},
    body: Buffer.from(body),
  };
}

const tagRuleSet = {
  rules: [
    {
      name: 'Tag quarterly',
      conditions: [{ field: 'subject', operator: 'contains', value: 'quarterly' }],
      actions: [{ type: 'tag', category: 'Finance' }],
    },
  ],
};

describe('rules API', () => {
  it('registers GET and PUT /api/rules and POST /api/rules/test', () => {
    const routes = registeredFunctions().http.map(
      (route) => `${route.methods.join(',')} ${route.route}`,
    );
    assert.ok(routes.includes('GET,PUT rules'));
    assert.ok(routes.includes('POST rules/test'));
  });

  it('admits administrators only', async () => {
    const api = services();
    const anonymous = { ...request('GET'), headers: new Headers() };
    assert.equal((await handleRules(anonymous, context, async () => api)).status, 401);
    assert.equal((await handleRulesTest(anonymous, context, async () => api)).status, 401);
  });

  it('stores a version and returns it', async () => {
    const api = services();
    assert.equal((await handleRules(request('GET'), context, async () => api)).status, 404);
    const put = await handleRules(
      request('PUT', JSON.stringify(tagRuleSet)),
      context,
      async () => api,
    );
    assert.equal(put.status, 200);
    assert.equal((put.json as { version: number }).version, 1);
    const get = await handleRules(request('GET'), context, async () => api);
    assert.equal(get.status, 200);
    const stored = get.json as { version: number; updatedBy: string; ruleSet: unknown };
    assert.equal(stored.version, 1);
    assert.equal(stored.updatedBy, 'local-admin');
    assert.deepEqual(stored.ruleSet, tagRuleSet);
  });

  it('answers 400 with the path of each bad field', async () => {
    const api = services();
    const bad = {
      rules: [
        {
          name: 'Bad',
          conditions: [{ field: 'subject', operator: 'matches', value: '(?=x)' }],
          actions: [{ type: 'log' }],
        },
      ],
    };
    const put = await handleRules(request('PUT', JSON.stringify(bad)), context, async () => api);
    assert.equal(put.status, 400);
    const body = put.json as { issues: { path: string; rule: string }[] };
    assert.equal(body.issues[0]?.path, 'rules[0].conditions[0].value');
    assert.equal(body.issues[0]?.rule, 'Bad');
    const notJson = await handleRules(request('PUT', '{'), context, async () => api);
    assert.equal(notJson.status, 400);
  });

  it('answers 409 when If-Match names an old version', async () => {
    const api = services();
    await handleRules(request('PUT', JSON.stringify(tagRuleSet)), context, async () => api);
    await handleRules(request('PUT', JSON.stringify(tagRuleSet)), context, async () => api);
    const stale = await handleRules(
      request('PUT', JSON.stringify(tagRuleSet), { 'if-match': '"1"' }),
      context,
      async () => api,
    );
    assert.equal(stale.status, 409);
    const current = await handleRules(
      request('PUT', JSON.stringify(tagRuleSet), { 'if-match': '"2"' }),
      context,
      async () => api,
    );
    assert.equal(current.status, 200);
    const garbage = await handleRules(
      request('PUT', JSON.stringify(tagRuleSet), { 'if-match': 'yesterday' }),
      context,
      async () => api,
    );
    assert.equal(garbage.status, 400);
  });

  it('tests a message against the stored set', async () => {
    const api = services();
    const message = buildMessage({ subject: 'Quarterly figures' });
    assert.equal(
      (await handleRulesTest(request('POST', message), context, async () => api)).status,
      404,
    );
    await handleRules(request('PUT', JSON.stringify(tagRuleSet)), context, async () => api);
    const tested = await handleRulesTest(request('POST', message), context, async () => api);
    assert.equal(tested.status, 200);
    const report = tested.json as {
      version: number;
      action: string;
      decidingRule: string;
      points: { message: { rule: string; matched: boolean; held: string[] }[] };
    };
    assert.equal(report.version, 1);
    assert.equal(report.action, 'tag');
    assert.equal(report.decidingRule, 'Tag quarterly');
    assert.deepEqual(report.points.message, [
      {
        rule: 'Tag quarterly',
        point: 'message',
        matched: true,
        held: ['subject contains "quarterly"'],
      },
    ]);
    assert.equal((await handleRulesTest(request('POST'), context, async () => api)).status, 400);
  });
});
