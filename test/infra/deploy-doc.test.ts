import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { ruleSetSchema } from '../../src/rules/rule-schema.js';
import { REPOSITORY_ROOT } from './arm-template.js';
import { codeTableNames } from './code-inventory.js';

// Checks docs/deploy.md against the templates and the code it describes, without the Bicep CLI.
const read = (file: string) => readFileSync(path.join(REPOSITORY_ROOT, file), 'utf8');
const guide = read('docs/deploy.md');
const parameters = read('infra/bicep/main.bicepparam');
const main = read('infra/bicep/main.bicep');

/** Variables that azd itself reads; main.bicepparam does not need them. */
const AZD_VARIABLES = new Set(['AZURE_SUBSCRIPTION_ID', 'AZURE_LOCATION', 'AZURE_RESOURCE_GROUP']);

function matchesOf(text: string, pattern: RegExp): string[] {
  return [...text.matchAll(pattern)].map((match) => match[1] ?? '');
}

describe('deployment guide', () => {
  const parameterVariables = new Set(matchesOf(parameters, /readEnvironmentVariable\('([A-Z0-9_]+)'/g));

  it('sets only variables the templates read', () => {
    const set = matchesOf(guide, /azd env set ([A-Z0-9_]+)/g);
    assert.ok(set.length > 0, 'the guide sets no azd variable');
    const unread = set.filter((name) => !parameterVariables.has(name) && !AZD_VARIABLES.has(name));
    assert.deepEqual([...new Set(unread)], [], 'main.bicepparam does not read these variables');
  });

  it('documents every template variable', () => {
    const undocumented = [...parameterVariables].filter(
      (name) =>
        name !== 'AZURE_ENV_NAME' &&
        !guide.includes(`\`${name}\``) &&
        !guide.includes(`azd env set ${name} `),
    );
    assert.deepEqual(undocumented, [], 'name these variables in docs/deploy.md');
  });

  it('selects the subscription before the resource group', () => {
    // azd takes the subscription either when the environment is created or as a variable.
    const subscription = [
      guide.search(/azd env new \S+ --subscription /),
      guide.indexOf('azd env set AZURE_SUBSCRIPTION_ID'),
    ].filter((index) => index >= 0).sort((a, b) => a - b)[0] ?? -1;
    const account = guide.indexOf('az account set --subscription');
    const group = guide.indexOf('az group create');
    assert.ok(group >= 0, 'the guide must create the resource group');
    assert.ok(account >= 0, 'the guide must select the subscription with az account set');
    assert.ok(account < group, 'az account set must come before az group create');
    assert.ok(subscription >= 0, 'the guide must give azd the subscription');
    assert.ok(subscription < group, 'azd must get the subscription before az group create');
  });

  it('names every output of main.bicep', () => {
    const outputs = matchesOf(main, /^output ([A-Z0-9_]+) /gm);
    assert.ok(outputs.includes('GRAPH_IDENTITY_NAME'), 'main.bicep must output the Graph identity');
    const unnamed = outputs.filter((name) => name !== 'CLAMD_HOST' && !guide.includes(name));
    assert.deepEqual(unnamed, [], 'name these outputs in docs/deploy.md');
  });

  it('lists every table the code uses', () => {
    const missing = codeTableNames().filter((table) => !guide.includes(`\`${table}\``));
    assert.deepEqual(missing, [], 'list these tables under "What the template creates"');
  });

  it('sets EWS variables only after the vault exists', () => {
    const firstUp = guide.indexOf('azd up\n```');
    const ewsUrl = guide.indexOf('azd env set MAILSWEEP_EWS_URL');
    assert.ok(firstUp >= 0, 'the guide must run azd up');
    assert.ok(ewsUrl > firstUp, 'MAILSWEEP_EWS_URL needs the ews-password secret, so after azd up');
  });

  it('gives a smoke-test rule set that validates', () => {
    const block = /-d @- <<'JSON'\n([\s\S]*?)\nJSON\n/.exec(guide);
    assert.ok(block?.[1], 'the guide must store a smoke-test rule with PUT /api/rules');
    const parsed = ruleSetSchema.safeParse(JSON.parse(block[1]));
    assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
    const condition = parsed.data.rules[0]?.conditions[0];
    assert.equal(condition?.field, 'subject');
    assert.ok(guide.includes(`\`${String(condition?.value)}\` in the subject`));
  });
});
