import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';

import { main } from '../../src/cli/main.js';
import { buildMessage, peImage } from '../rules/rule-fixtures.js';

async function run(argv: string[]): Promise<{ code: number; output: string }> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await main(argv, { stdout });
  return { code, output: Buffer.concat(chunks).toString('utf8') };
}

async function writeRuleSet(ruleSet: unknown, files: Record<string, string> = {}): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'mailsweep-rules-'));
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(folder, name), content);
  }
  const file = path.join(folder, 'rules.json');
  await writeFile(file, typeof ruleSet === 'string' ? ruleSet : JSON.stringify(ruleSet));
  return file;
}

const partnerRules = {
  lists: { partners: { file: 'partners.txt' } },
  rules: [
    {
      name: 'Tag partners',
      conditions: [{ field: 'sender.domain', operator: 'inList', value: 'partners' }],
      actions: [{ type: 'tag', category: 'Partner' }],
    },
    {
      name: 'Strip executables',
      point: 'attachment',
      conditions: [{ field: 'attachment.trueType', operator: 'is', value: 'exe' }],
      actions: [{ type: 'removeAttachment' }],
    },
  ],
};

describe('mailsweep rules validate', () => {
  it('accepts a valid set with a list file beside it', async () => {
    const file = await writeRuleSet(partnerRules, {
      'partners.txt': '# partners\npartner.example\n',
    });
    const { code, output } = await run(['rules', 'validate', file]);
    assert.equal(code, 0);
    assert.match(output, /^valid: 2 rules, 2 enabled, mode enforce/);
  });

  it('names the rule and field of each problem', async () => {
    const file = await writeRuleSet(partnerRules);
    const { code, output } = await run(['rules', 'validate', file]);
    assert.equal(code, 1);
    assert.match(
      output,
      /rules\[0\]\.conditions\[0\]\.value \(rule "Tag partners"\): list "partners": file "partners.txt" was not found/,
    );
  });

  it('reads list files beside the rule set, not the working folder', async () => {
    const file = await writeRuleSet(partnerRules, { 'partners.txt': 'partner.example\n' });
    const previous = process.cwd();
    process.chdir(os.tmpdir());
    try {
      const relative = path.relative(os.tmpdir(), file);
      const { code, output } = await run(['rules', 'validate', relative]);
      assert.equal(code, 0, output);
    } finally {
      process.chdir(previous);
    }
  });

  it('names the rule and line of a malformed list file', async () => {
    const file = await writeRuleSet(partnerRules, { 'partners.txt': 'partner.example\nnot a domain\n' });
    const { code, output } = await run(['rules', 'validate', file]);
    assert.equal(code, 1);
    assert.match(output, /\(rule "Tag partners"\): list "partners": .*line 2/);
  });

  it('refuses a FIFO instead of waiting for a writer', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'mailsweep-rules-'));
    const fifo = path.join(folder, 'rules.json');
    execFileSync('mkfifo', [fifo]);
    const { code, output } = await run(['rules', 'validate', fifo]);
    assert.equal(code, 1);
    assert.match(output, /is not a regular file/);
  });

  it('reports a file that is not JSON', async () => {
    const file = await writeRuleSet('{ "rules": [');
    const { code, output } = await run(['rules', 'validate', file]);
    assert.equal(code, 1);
    assert.match(output, /rule set: is not valid JSON/);
  });
});

describe('mailsweep rules test', () => {
  it('shows which rule matched at each point', async () => {
    const file = await writeRuleSet(partnerRules, { 'partners.txt': 'partner.example\n' });
    const message = path.join(path.dirname(file), 'message.eml');
    await writeFile(
      message,
      buildMessage({ attachments: [{ name: 'report.pdf', content: peImage() }] }),
    );
    const { code, output } = await run(['rules', 'test', message, '--rules', file, '--json']);
    assert.equal(code, 0);
    const report = JSON.parse(output) as {
      category: string;
      points: Record<string, { rule: string; matched: boolean; mimePath?: string }[]>;
    };
    assert.deepEqual(
      report.points.message?.map((entry) => [entry.rule, entry.matched]),
      [['Tag partners', true]],
    );
    assert.deepEqual(
      report.points.attachment?.map((entry) => [entry.rule, entry.matched, entry.mimePath]),
      [['Strip executables', true, '2']],
    );
    assert.equal(report.category, 'malware');
  });

  it('prints a readable report', async () => {
    const file = await writeRuleSet(partnerRules, { 'partners.txt': 'fabrikam.com\n' });
    const message = path.join(path.dirname(file), 'message.eml');
    await writeFile(message, buildMessage());
    const { code, output } = await run(['rules', 'test', message, '--rules', file]);
    assert.equal(code, 0);
    assert.match(output, /"Tag partners" no match: sender.domain inList "partners" does not hold/);
    assert.match(output, /attachment:\n {2}no rule evaluated/);
  });
  it('tests each message of an mbox file', async () => {
    const file = await writeRuleSet(partnerRules, { 'partners.txt': 'partner.example\n' });
    const mbox = path.join(path.dirname(file), 'messages.mbox');
    const first = Buffer.from(buildMessage()).toString('latin1');
    const second = Buffer.from(
      buildMessage({ from: 'Carol <carol@elsewhere.example>' }),
    ).toString('latin1');
    await writeFile(
      mbox,
      `From alice@partner.example Tue Mar  3 10:15:00 2026\n${first}\n` +
        `From carol@elsewhere.example Tue Mar  3 10:16:00 2026\n${second}\n`,
    );
    const { code, output } = await run(['rules', 'test', mbox, '--rules', file, '--json']);
    assert.equal(code, 0);
    const reports = JSON.parse(output) as {
      source: string;
      report: { points: Record<string, { rule: string; matched: boolean }[]> };
    }[];
    assert.deepEqual(
      reports.map((entry) => entry.source),
      [`${mbox}#1`, `${mbox}#2`],
    );
    assert.equal(reports[0]?.report.points.message?.[0]?.matched, true);
    assert.equal(reports[1]?.report.points.message?.[0]?.matched, false);
  });

  it('labels each mbox message in the readable report', async () => {
    const file = await writeRuleSet(partnerRules, { 'partners.txt': 'partner.example\n' });
    const mbox = path.join(path.dirname(file), 'messages.mbox');
    const message = Buffer.from(buildMessage()).toString('latin1');
    await writeFile(
      mbox,
      `From a@partner.example Tue Mar  3 10:15:00 2026\n${message}\n` +
        `From a@partner.example Tue Mar  3 10:15:00 2026\n${message}\n`,
    );
    const { code, output } = await run(['rules', 'test', mbox, '--rules', file]);
    assert.equal(code, 0);
    assert.equal(output.match(/^verdict: /gm)?.length, 2);
    assert.match(output, /messages\.mbox#2\nverdict: /);
  });
});
