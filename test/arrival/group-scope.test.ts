import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { GroupScope, toRuleGroups, type RuleGroups } from '../../src/arrival/group-scope.js';
import { compileRuleSet } from '../../src/rules/compile-rules.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startGraphFixture, type GraphFixture } from '../graph/graph-test-support.js';

describe('GroupScope', () => {
  let graph: GraphFixture;

  before(async () => {
    graph = await startGraphFixture();
  });
  after(async () => {
    await graph.close();
  });

  function countGroupReads(): number {
    return graph.sim.requestLog.filter((entry) => entry.path.includes('/transitiveMembers/')).length;
  }

  it('finds transitive membership and caches it per version', async () => {
    const { sim, client } = graph;
    const nested = sim.addMailbox('nested.member@contoso.com');
    const outsider = sim.addMailbox('outsider@contoso.com');
    const inner = sim.addGroup([nested.id]);
    const finance = sim.addGroup([inner]);
    let now = 0;
    let ruleGroups: RuleGroups = { version: 1, groups: [finance, 'Sales'] };
    const scope = new GroupScope({
      directory: client,
      ruleGroups: () => ruleGroups,
      ttlMs: 60_000,
      logger: silentLogger,
      now: () => now,
    });
    const readsBefore = countGroupReads();

    assert.deepEqual(await scope.groupsOf('Nested.Member@contoso.com'), [finance]);
    assert.deepEqual(await scope.groupsOf(outsider.mail), []);
    assert.equal(countGroupReads() - readsBefore, 1, 'display names are not looked up');

    now += 60_001;
    await scope.groupsOf(outsider.mail);
    assert.equal(countGroupReads() - readsBefore, 2, 'an expired entry is read again');

    ruleGroups = { version: 2, groups: [finance] };
    await scope.groupsOf(outsider.mail);
    assert.equal(countGroupReads() - readsBefore, 3, 'a new version is read again');
  });

  it('treats a group Graph does not know as empty', async () => {
    const scope = new GroupScope({
      directory: graph.client,
      ruleGroups: () => ({ version: 1, groups: ['00000000-0000-0000-0000-000000000000'] }),
      ttlMs: 60_000,
      logger: silentLogger,
    });
    assert.deepEqual(await scope.groupsOf('someone@contoso.com'), []);
  });
});

describe('toRuleGroups', () => {
  it('collects the scope groups of enabled rules', async () => {
    const ruleSet = await compileRuleSet(
      {
        rules: [
          {
            name: 'Finance spam',
            point: 'results',
            scope: { groups: ['11111111-2222-3333-4444-555555555555'] },
            conditions: [{ field: 'spam.score', operator: 'atLeast', value: 0.6 }],
            actions: [{ type: 'quarantine' }],
          },
          {
            name: 'Everyone',
            conditions: [{ field: 'subject', operator: 'contains', value: 'x' }],
            actions: [{ type: 'log' }],
          },
        ],
      },
      { maxRules: 10, version: 4 },
    );
    assert.deepEqual(toRuleGroups(ruleSet), {
      version: 4,
      groups: ['11111111-2222-3333-4444-555555555555'],
    });
  });
});
