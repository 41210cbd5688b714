import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { loadSettings } from '../../src/config/settings.js';
import { compileRuleSet } from '../../src/rules/compile-rules.js';
import { createRuleHook } from '../../src/rules/evaluate-rules.js';
import { createEncryptedZip, createZip } from '../../src/samples/zip-writer.js';
import { createEmbeddedEngines } from '../../src/scanning/engines.js';
import { createPipeline } from '../../src/scanning/pipeline.js';
import type { ScanContext, Verdict } from '../../src/scanning/types.js';
import { silentLogger } from '../../src/shared/logger.js';
import { buildMessage, peImage, type TestMessage } from './rule-fixtures.js';

/** Reads the JSON rule set of each `### Example N:` section of docs/rules.md, by number. */
function readExamples(): Map<number, unknown> {
  const text = readFileSync(new URL('../../docs/rules.md', import.meta.url), 'utf8');
  const examples = new Map<number, unknown>();
  for (const match of text.matchAll(
    /^### Example (\d+):[^\n]*\n[\s\S]*?```json\n([\s\S]*?)\n```/gm,
  )) {
    examples.set(Number(match[1]), JSON.parse(match[2] ?? '') as unknown);
  }
  return examples;
}

const examples = readExamples();

/** List files that the examples name. */
const LIST_FILES: Record<string, string> = {
  'blocked-networks.txt': '# blocked\n198.51.100.0/24\n',
};

async function scanWith(
  example: number,
  message: TestMessage | Uint8Array,
  context: ScanContext = {},
  overrides: Record<string, string> = {},
): Promise<Verdict> {
  const ruleSet = await compileRuleSet(examples.get(example), {
    maxRules: 100,
    readListFile: async (file) => {
      const content = LIST_FILES[file];
      if (content === undefined) {
        throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      }
      return content;
    },
  });
  const settings = loadSettings({ MAILSWEEP_ORG_DOMAINS: 'contoso.com', ...overrides });
  const pipeline = createPipeline({
    limits: settings.limits,
    actions: settings.actions,
    engines: await createEmbeddedEngines(settings),
    logger: silentLogger,
    rules: createRuleHook({ current: () => ruleSet }),
  });
  const raw = message instanceof Uint8Array ? message : buildMessage(message);
  return (await pipeline.scan(raw, context)).verdict;
}

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

describe('docs/rules.md examples', () => {
  it('has at least ten examples, numbered from 1', () => {
    assert.ok(examples.size >= 10, `found ${examples.size}`);
    assert.deepEqual(
      [...examples.keys()],
      Array.from({ length: examples.size }, (_, index) => index + 1),
    );
  });

  it('1 blocks executables by extension and by content', async () => {
    const byName = await scanWith(1, {
      attachments: [{ name: 'setup.scr', content: 'not really' }],
    });
    assert.equal(byName.decidingRule, 'Executable by extension');
    assert.equal(byName.action, 'quarantine');
    const byContent = await scanWith(1, {
      attachments: [{ name: 'tool.bin', content: peImage() }],
    });
    assert.equal(byContent.decidingRule, 'Executable by content');
    const clean = await scanWith(1, { attachments: [{ name: 'notes.txt', content: 'hello' }] });
    assert.deepEqual(clean.ruleMatches, []);
  });

  it('2 quarantines an encrypted archive', async () => {
    const zip = createEncryptedZip({ name: 'a.txt', content: Buffer.from('secret') }, 'pw');
    const verdict = await scanWith(2, { attachments: [{ name: 'docs.zip', content: zip }] });
    assert.equal(verdict.decidingRule, 'Encrypted archive');
    assert.equal(verdict.action, 'quarantine');
    const plain = await scanWith(2, {
      attachments: [
        {
          name: 'docs.zip',
          content: await createZip([{ name: 'a.txt', content: Buffer.from('x') }]),
        },
      ],
    });
    assert.deepEqual(plain.ruleMatches, []);
  });

  it('3 tags an external sender with an executive name', async () => {
    const verdict = await scanWith(
      3,
      { from: '"Dana Whitfield" <dana.whitfield@freemail.example>' },
      { mailbox: 'bob@contoso.com' },
    );
    assert.equal(verdict.action, 'tag');
    assert.deepEqual(verdict.ruleActions, [
      {
        type: 'tag',
        rule: 'Executive impersonation',
        category: 'Possible impersonation',
        subjectPrefix: '[EXTERNAL] ',
      },
      {
        type: 'notify',
        rule: 'Executive impersonation',
        to: 'admin',
        text: 'Rule Executive impersonation matched in bob@contoso.com: from.displayName inList "executives" and sender.domain isNot "contoso.com"',
      },
    ]);
    const internal = await scanWith(3, { from: '"Dana Whitfield" <dana.whitfield@contoso.com>' });
    assert.deepEqual(internal.ruleMatches, []);
  });

  it('4 skips antispam for a partner only when DMARC passed', async () => {
    const passed = {
      from: 'ops@fabrikam.com',
      headers: { 'Authentication-Results': 'mx.contoso.com; dmarc=pass header.from=fabrikam.com' },
    };
    const skipped = await scanWith(4, passed);
    assert.equal(skipped.spam, undefined);
    assert.equal(skipped.decidingRule, 'Trusted partner');
    const failed = {
      ...passed,
      headers: { 'Authentication-Results': 'mx.contoso.com; dmarc=fail header.from=fabrikam.com' },
    };
    assert.notEqual((await scanWith(4, failed)).spam, undefined);
    const malware = await scanWith(4, {
      ...passed,
      attachments: [{ name: 'e.com', content: EICAR }],
    });
    assert.equal(malware.category, 'malware', 'antivirus still runs');
  });

  it('5 removes each macro document and keeps the message', async () => {
    const message = {
      attachments: [
        { name: 'budget.xlsm', content: 'x' },
        { name: 'notes.txt', content: 'y' },
      ],
    };
    const byDefault = await scanWith(5, message);
    assert.equal(byDefault.action, 'quarantine', 'the antivirus policy finding still quarantines');
    const verdict = await scanWith(5, message, {}, { MAILSWEEP_ACTION_POLICY: 'tag' });
    assert.equal(verdict.action, 'tag');
    assert.deepEqual(verdict.ruleActions, [
      { type: 'removeAttachment', rule: 'Strip macro documents', mimePath: '2' },
      {
        type: 'notify',
        rule: 'Strip macro documents',
        to: 'recipient',
        text: 'An attachment (2) was removed by the rule Strip macro documents.',
      },
    ]);
  });

  it('6 junks mail failing SPF and DMARC', async () => {
    const failing = {
      headers: {
        'Authentication-Results':
          'mx.contoso.com; spf=softfail smtp.mailfrom=x.example; dmarc=fail header.from=partner.example',
      },
    };
    const verdict = await scanWith(6, failing);
    assert.equal(verdict.action, 'junk');
    assert.equal(verdict.category, 'spam');
    assert.equal(verdict.decidingRule, 'Failed authentication');
    const spfOnly = {
      headers: {
        'Authentication-Results': 'mx.contoso.com; spf=fail smtp.mailfrom=x.example; dmarc=pass',
      },
    };
    assert.deepEqual((await scanWith(6, spfOnly)).ruleMatches, []);
  });

  it('7 applies the finance threshold to the group only', async () => {
    const message = buildMessage({ body: 'Please find the figures for this quarter below.' });
    const finance = await scanWith(7, message, { groups: ['5f1c2a7e-8b3d-4e6f-9a01-2c3d4e5f6a7b'] });
    const score = finance.spam?.score ?? 0;
    assert.equal((finance.ruleMatches ?? []).length > 0, score >= 0.6, `score ${score}`);
    const other = await scanWith(7, message, { groups: ['Sales'] });
    assert.deepEqual(other.ruleMatches, []);
  });

  it('8 deletes mail from a listed network', async () => {
    const received = (ip: string) => ({
      headers: { Received: `from mail.spammer.example ([${ip}]) by mx.contoso.com` },
    });
    const blocked = await scanWith(8, received('198.51.100.23'));
    assert.equal(blocked.action, 'delete');
    assert.equal(blocked.decidingRule, 'Blocked network');
    assert.deepEqual((await scanWith(8, received('192.0.2.23'))).ruleMatches, []);
  });

  it('9 tags payment requests and holds large files at night', async () => {
    const mismatch = {
      subject: 'Invoice 2231 overdue',
      headers: { 'Return-Path': '<bounce@bulk.example>' },
    };
    const tagged = await scanWith(9, mismatch, { receivedAt: new Date('2026-03-03T10:00:00Z') });
    assert.equal(tagged.action, 'tag');
    assert.deepEqual(
      tagged.ruleMatches?.map((match) => match.rule),
      ['Payment request, envelope mismatch'],
    );
    const large = {
      attachments: [{ name: 'scan.pdf', content: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20) }],
    };
    // 22:30 UTC is 23:30 in Berlin in March.
    const night = await scanWith(9, large, { receivedAt: new Date('2026-03-03T22:30:00Z') });
    assert.equal(night.decidingRule, 'Large attachment out of hours');
    const day = await scanWith(9, large, { receivedAt: new Date('2026-03-03T12:00:00Z') });
    assert.deepEqual(day.ruleMatches, []);
  });

  it('10 only logs in log-only mode', async () => {
    const verdict = await scanWith(10, { body: 'Buy two gift cards and send me the codes.' });
    assert.equal(verdict.ruleMatches?.[0]?.rule, 'Gift card scam');
    assert.equal(verdict.ruleMatches?.[0]?.logOnly, true);
    assert.equal(verdict.decidingRule, undefined);
    assert.notEqual(verdict.action, 'quarantine');
  });

  it('11 deletes malware and notifies the administrator', async () => {
    const verdict = await scanWith(
      11,
      { attachments: [{ name: 'e.com', content: EICAR }] },
      { mailbox: 'bob@contoso.com' },
    );
    assert.equal(verdict.action, 'delete');
    assert.equal(verdict.decidingRule, 'Delete malware');
    assert.deepEqual(verdict.ruleActions, [
      {
        type: 'notify',
        rule: 'Delete malware',
        to: 'admin',
        text: 'Delete malware deleted a message in bob@contoso.com',
      },
    ]);
  });
});
