import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { compileRuleSet } from '../../src/rules/compile-rules.js';
import { RuleSetError } from '../../src/rules/rule-errors.js';

const block = (
  conditions: unknown[],
  actions: unknown[] = [{ type: 'quarantine' }],
  extra = {},
) => ({
  rules: [{ name: 'Block it', conditions, actions, ...extra }],
});

async function issuesOf(
  ruleSet: unknown,
  options = {},
): Promise<{ path: string; rule?: string; message: string }[]> {
  try {
    await compileRuleSet(ruleSet, { maxRules: 10, ...options });
  } catch (error) {
    assert.ok(error instanceof RuleSetError, `expected RuleSetError, got ${String(error)}`);
    assert.equal(error.code, 'rules-invalid');
    assert.equal(error.transient, false);
    return [...error.issues];
  }
  assert.fail('the rule set compiled');
}

describe('compileRuleSet', () => {
  it('compiles a valid set and groups rules by point', async () => {
    const compiled = await compileRuleSet(
      {
        rules: [
          {
            name: 'a',
            conditions: [{ field: 'subject', operator: 'contains', value: 'x' }],
            actions: [{ type: 'log' }],
          },
          {
            name: 'b',
            point: 'results',
            conditions: [{ field: 'spam.score', operator: 'atLeast', value: 0.5 }],
            actions: [{ type: 'junk' }],
          },
          {
            name: 'c',
            enabled: false,
            conditions: [{ field: 'body', operator: 'contains', value: 'x' }],
            actions: [{ type: 'log' }],
          },
        ],
      },
      { maxRules: 10, version: 7 },
    );
    assert.equal(compiled.version, 7);
    assert.equal(compiled.ruleCount, 3);
    assert.deepEqual(
      compiled.byPoint.message.map((rule) => rule.name),
      ['a'],
    );
    assert.deepEqual(
      compiled.byPoint.results.map((rule) => rule.name),
      ['b'],
    );
    assert.equal(compiled.needs.bodies, false, 'a disabled rule does not make bodies needed');
  });

  it('rejects an empty rule set', async () => {
    const issues = await issuesOf({ rules: [] });
    assert.equal(issues[0]?.path, 'rules');
    assert.match(issues[0]?.message ?? '', /at least one rule/);
  });

  it('names the rule and path of an unknown condition field', async () => {
    const issues = await issuesOf(block([{ field: 'sender.colour', operator: 'is', value: 'x' }]));
    assert.equal(issues[0]?.path, 'rules[0].conditions[0].field');
    assert.equal(issues[0]?.rule, 'Block it');
  });

  it('names the path of an unknown action', async () => {
    const issues = await issuesOf(
      block([{ field: 'subject', operator: 'is', value: 'x' }], [{ type: 'explode' }]),
    );
    assert.equal(issues[0]?.path, 'rules[0].actions[0].type');
    assert.equal(issues[0]?.rule, 'Block it');
  });

  it('rejects an operator of another field kind', async () => {
    const issues = await issuesOf(block([{ field: 'subject', operator: 'atLeast', value: 3 }]));
    assert.equal(issues[0]?.path, 'rules[0].conditions[0].operator');
    assert.match(issues[0]?.message ?? '', /use one of is, isNot/);
  });

  it('rejects a value of the wrong type', async () => {
    const issues = await issuesOf(
      block([{ field: 'message.size', operator: 'atLeast', value: '10 MB' }]),
    );
    assert.equal(issues[0]?.path, 'rules[0].conditions[0].value');
    const yesNo = await issuesOf(
      block([{ field: 'archive.encrypted', operator: 'is', value: 'yes' }]),
    );
    assert.equal(yesNo[0]?.path, 'rules[0].conditions[0].value');
  });

  it('rejects patterns RE2 cannot compile', async () => {
    for (const pattern of ['(a)\\1', '(?=admin)', '(?<!x)y', '[unclosed']) {
      const issues = await issuesOf(
        block([{ field: 'subject', operator: 'matches', value: pattern }]),
      );
      assert.equal(issues[0]?.path, 'rules[0].conditions[0].value', pattern);
      assert.match(issues[0]?.message ?? '', /not a valid RE2 regular expression/, pattern);
    }
  });

  it('rejects a pattern longer than the limit', async () => {
    const issues = await issuesOf(
      block([{ field: 'subject', operator: 'matches', value: 'a'.repeat(1001) }]),
    );
    assert.equal(issues[0]?.path, 'rules[0].conditions[0].value');
  });

  it('rejects a set over the size limit', async () => {
    const rules = Array.from({ length: 11 }, (_, index) => ({
      name: `rule ${index}`,
      conditions: [{ field: 'subject', operator: 'is', value: 'x' }],
      actions: [{ type: 'log' }],
    }));
    const issues = await issuesOf({ rules });
    assert.equal(issues[0]?.path, 'rules');
    assert.match(issues[0]?.message ?? '', /more than the limit of 10/);
  });

  it('rejects repeated rule names', async () => {
    const rule = {
      name: 'Same',
      conditions: [{ field: 'subject', operator: 'is', value: 'x' }],
      actions: [{ type: 'log' }],
    };
    const issues = await issuesOf({ rules: [rule, { ...rule, name: 'same' }] });
    assert.equal(issues[0]?.path, 'rules[1].name');
  });

  it('rejects engine results before the engines', async () => {
    const issues = await issuesOf(
      block([{ field: 'av.category', operator: 'is', value: 'malware' }]),
    );
    assert.equal(issues[0]?.path, 'rules[0].conditions[0].field');
    assert.match(issues[0]?.message ?? '', /point must be "results"/);
  });

  it('rejects actions at a point where they cannot run', async () => {
    const remove = await issuesOf(
      block([{ field: 'subject', operator: 'is', value: 'x' }], [{ type: 'removeAttachment' }]),
    );
    assert.equal(remove[0]?.path, 'rules[0].actions[0].type');
    const skip = await issuesOf(
      block(
        [{ field: 'spam.score', operator: 'atLeast', value: 0.1 }],
        [{ type: 'skip', stages: ['antivirus'] }],
        { point: 'results' },
      ),
    );
    assert.equal(skip[0]?.path, 'rules[0].actions[0].type');
  });

  it('rejects an unknown notification placeholder', async () => {
    const issues = await issuesOf(
      block(
        [{ field: 'subject', operator: 'is', value: 'x' }],
        [{ type: 'notify', to: 'admin', template: 'About {{subject}}' }],
      ),
    );
    assert.equal(issues[0]?.path, 'rules[0].actions[0].template');
  });

  it('rejects an unknown time zone and a bad clock', async () => {
    const zone = await issuesOf(
      block([
        {
          field: 'received',
          operator: 'within',
          value: { start: '08:00', end: '18:00', timeZone: 'Mars/Olympus' },
        },
      ]),
    );
    assert.equal(zone[0]?.path, 'rules[0].conditions[0].value.timeZone');
    const clock = await issuesOf(
      block([{ field: 'received', operator: 'within', value: { start: '8am', end: '18:00' } }]),
    );
    assert.equal(clock[0]?.path, 'rules[0].conditions[0].value.start');
  });

  it('rejects a list the set does not define', async () => {
    const issues = await issuesOf(
      block([{ field: 'sender.domain', operator: 'inList', value: 'partners' }]),
    );
    assert.equal(issues[0]?.path, 'rules[0].conditions[0].value');
    assert.match(issues[0]?.message ?? '', /does not define/);
  });

  it('names the rule whose list file is missing', async () => {
    const ruleSet = {
      lists: { partners: { file: 'partners.txt' } },
      ...block([{ field: 'sender.domain', operator: 'inList', value: 'partners' }]),
    };
    const missing = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    const issues = await issuesOf(ruleSet, { readListFile: () => Promise.reject(missing) });
    assert.equal(issues[0]?.path, 'rules[0].conditions[0].value');
    assert.equal(issues[0]?.rule, 'Block it');
    assert.match(issues[0]?.message ?? '', /file "partners.txt" was not found/);
  });

  it('names the bad line of a malformed list file', async () => {
    const ruleSet = {
      lists: { partners: { file: 'partners.txt' } },
      ...block([{ field: 'sender.domain', operator: 'inList', value: 'partners' }]),
    };
    const issues = await issuesOf(ruleSet, {
      readListFile: () => Promise.resolve('# partners\nfabrikam.com\nnot a domain!\n'),
    });
    assert.match(issues[0]?.message ?? '', /line 3 is not an address, domain/);
  });

  it('rejects inRange on a field other than sender.ip and a bad range', async () => {
    const field = await issuesOf(
      block([{ field: 'subject', operator: 'inRange', value: '10.0.0.0/8' }]),
    );
    assert.equal(field[0]?.path, 'rules[0].conditions[0].operator');
    const range = await issuesOf(
      block([{ field: 'sender.ip', operator: 'inRange', value: '10.0.0.0/99' }]),
    );
    assert.equal(range[0]?.path, 'rules[0].conditions[0].value');
  });

  it('lists every problem at once', async () => {
    const issues = await issuesOf({
      rules: [
        {
          name: 'one',
          conditions: [{ field: 'subject', operator: 'matches', value: '(?=x)' }],
          actions: [{ type: 'log' }],
        },
        {
          name: 'two',
          conditions: [{ field: 'message.size', operator: 'contains', value: 1 }],
          actions: [{ type: 'log' }],
        },
      ],
    });
    assert.deepEqual(
      issues.map((issue) => issue.rule),
      ['one', 'two'],
    );
  });
});
