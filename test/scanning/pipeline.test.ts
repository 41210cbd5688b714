import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createEmbeddedEngines } from '../../src/scanning/engines.js';
import { createPipeline } from '../../src/scanning/pipeline.js';
import type { RuleHook } from '../../src/scanning/types.js';
import { silentLogger } from '../../src/shared/logger.js';
import { testSettings } from '../helpers/pipeline.js';
import { buildMessage } from '../rules/rule-fixtures.js';

async function pipelineWith(rules?: RuleHook) {
  const settings = testSettings();
  return createPipeline({
    limits: settings.limits,
    actions: settings.actions,
    engines: await createEmbeddedEngines(settings),
    logger: silentLogger,
    rules,
  });
}

describe('pipeline rule hook', () => {
  it('adds no rule fields without a hook', async () => {
    const { verdict } = await (await pipelineWith()).scan(buildMessage());
    assert.equal(verdict.ruleMatches, undefined);
    assert.equal(verdict.decidingRule, undefined);
    assert.equal(verdict.ruleActions, undefined);
  });

  it('adds no rule fields when no rule set is in force', async () => {
    const hook: RuleHook = { begin: () => Promise.resolve(undefined) };
    const { verdict } = await (await pipelineWith(hook)).scan(buildMessage());
    assert.equal(verdict.ruleMatches, undefined);
    assert.equal(verdict.category, 'clean');
  });

  it('makes the message unscannable when the hook throws before the engines', async () => {
    const hook: RuleHook = { begin: () => Promise.reject(new Error('broken')) };
    const { verdict } = await (await pipelineWith(hook)).scan(buildMessage());
    assert.equal(verdict.category, 'unscannable');
    assert.equal(verdict.findings.at(-1)?.signature, 'rules.failed');
    assert.notEqual(verdict.spam, undefined, 'the engines still ran');
  });

  it('makes the message unscannable when the results point throws', async () => {
    const hook: RuleHook = {
      begin: () =>
        Promise.resolve({
          skippedStages: new Set(),
          complete: () => {
            throw new Error('broken');
          },
        }),
    };
    const { verdict } = await (await pipelineWith(hook)).scan(buildMessage());
    assert.equal(verdict.category, 'unscannable');
    assert.equal(verdict.ruleMatches, undefined);
  });
});
