import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { RuleSetError } from '../../src/rules/rule-errors.js';
import { loadRuleSetFile } from '../../src/rules/rule-file.js';

/** A rule set whose one rule quarantines mail from senders in the list `partners`. */
function ruleSetWithListFile(file: string): string {
  return JSON.stringify({
    lists: { partners: { file } },
    rules: [
      {
        name: 'Block partners',
        conditions: [{ field: 'sender.domain', operator: 'inList', value: 'partners' }],
        actions: [{ type: 'quarantine' }],
      },
    ],
  });
}

describe('loadRuleSetFile list files', () => {
  let root: string;
  let rulesFolder: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'mailsweep-rule-file-'));
    rulesFolder = path.join(root, 'rules');
    await mkdir(path.join(rulesFolder, 'lists'), { recursive: true });
    await writeFile(path.join(rulesFolder, 'lists', 'partners.txt'), 'fabrikam.com\n');
    await writeFile(path.join(root, 'secret.txt'), 'contoso.com\n');
    await symlink(path.join(root, 'secret.txt'), path.join(rulesFolder, 'escape.txt'));
    await symlink(root, path.join(rulesFolder, 'up'));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function load(listFile: string): Promise<unknown> {
    const file = path.join(rulesFolder, `rules-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, ruleSetWithListFile(listFile));
    return loadRuleSetFile(file, 10);
  }

  it('reads a list file below the rule set folder', async () => {
    const compiled = await load('lists/partners.txt');
    assert.ok(compiled);
  });

  for (const listFile of ['../secret.txt', '../../../../etc/passwd', '/etc/passwd', 'escape.txt', 'up/secret.txt']) {
    it(`rejects list file ${listFile} outside the folder`, async () => {
      await assert.rejects(load(listFile), (error: unknown) => {
        assert.ok(error instanceof RuleSetError);
        const messages = error.issues.map((issue) => issue.message).join('\n');
        assert.match(messages, /list "partners"/);
        assert.match(messages, /is outside the rule set file's folder/);
        return true;
      });
    });
  }
});
