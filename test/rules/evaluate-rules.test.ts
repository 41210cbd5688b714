import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createZip, createEncryptedZip } from '../../src/samples/zip-writer.js';
import type { ScanContext } from '../../src/scanning/types.js';
import { buildMessage, createRulesPipeline, peImage, type TestMessage } from './rule-fixtures.js';

const quarantineIf = (conditions: unknown[], extra: Record<string, unknown> = {}) => ({
  rules: [{ name: 'Under test', conditions, actions: [{ type: 'quarantine' }], ...extra }],
});

/** Returns whether the single rule matched the message. */
async function matches(
  ruleSet: unknown,
  message: TestMessage = {},
  context: ScanContext = {},
): Promise<boolean> {
  const pipeline = await createRulesPipeline(ruleSet);
  const { verdict } = await pipeline.scan(buildMessage(message), context);
  return (verdict.ruleMatches ?? []).length > 0;
}

describe('rule conditions', () => {
  it('sender address and domain, case-insensitively', async () => {
    assert.equal(
      await matches(
        quarantineIf([{ field: 'sender.address', operator: 'is', value: 'ALICE@partner.example' }]),
      ),
      true,
    );
    assert.equal(
      await matches(
        quarantineIf([{ field: 'sender.domain', operator: 'isNot', value: 'partner.example' }]),
      ),
      false,
    );
    assert.equal(
      await matches(
        quarantineIf([
          { field: 'sender.domain', operator: 'is', value: ['x.example', 'partner.example'] },
        ]),
      ),
      true,
    );
  });

  it('recipient and From display name', async () => {
    assert.equal(
      await matches(
        quarantineIf([{ field: 'recipient', operator: 'contains', value: '@contoso.com' }]),
      ),
      true,
    );
    const ceo = { from: '"Dana Ceo" <dana.ceo@freemail.example>' };
    assert.equal(
      await matches(
        quarantineIf([{ field: 'from.displayName', operator: 'matches', value: '^dana\\s+ceo$' }]),
        ceo,
      ),
      true,
    );
  });

  it('envelope and header From mismatch', async () => {
    const forged = { headers: { 'Return-Path': '<bounce@mailer.example>' } };
    const aligned = { headers: { 'Return-Path': '<bounce@mail.partner.example>' } };
    const rule = quarantineIf([{ field: 'envelope.fromMismatch', operator: 'is', value: true }]);
    assert.equal(await matches(rule, forged), true);
    assert.equal(
      await matches(rule, aligned),
      false,
      'a subdomain of the same registrable domain is aligned',
    );
    assert.equal(await matches(rule, {}), false, 'no Return-Path means nothing to compare');
  });

  it('subject, body and any header by name', async () => {
    assert.equal(
      await matches(
        quarantineIf([{ field: 'subject', operator: 'notContains', value: 'invoice' }]),
      ),
      true,
    );
    assert.equal(
      await matches(
        quarantineIf([{ field: 'body', operator: 'matches', value: 'figures\\s+for' }]),
      ),
      true,
    );
    const mailer = { headers: { 'X-Mailer': 'BulkBlaster 9' } };
    assert.equal(
      await matches(
        quarantineIf([
          { field: 'header', header: 'X-Mailer', operator: 'contains', value: 'bulkblaster' },
        ]),
        mailer,
      ),
      true,
    );
    assert.equal(
      await matches(
        quarantineIf([
          { field: 'header', header: 'X-Mailer', operator: 'contains', value: 'bulk' },
        ]),
      ),
      false,
    );
  });

  it('attachment name, extension, true type and size', async () => {
    const exe = { attachments: [{ name: 'invoice.pdf.exe. ', content: peImage() }] };
    assert.equal(
      await matches(
        quarantineIf([{ field: 'attachment.extension', operator: 'is', value: 'exe' }]),
        exe,
      ),
      true,
    );
    assert.equal(
      await matches(
        quarantineIf([{ field: 'attachment.name', operator: 'contains', value: '.pdf' }]),
        exe,
      ),
      true,
    );
    const disguised = { attachments: [{ name: 'report.pdf', content: peImage() }] };
    assert.equal(
      await matches(
        quarantineIf([{ field: 'attachment.trueType', operator: 'is', value: 'exe' }]),
        disguised,
      ),
      true,
    );
    assert.equal(
      await matches(
        quarantineIf([{ field: 'attachment.size', operator: 'between', value: [500, 600] }]),
        disguised,
      ),
      true,
    );
    assert.equal(
      await matches(
        quarantineIf([{ field: 'attachment.size', operator: 'atLeast', value: 1000 }]),
        disguised,
      ),
      false,
    );
  });

  it('attachment count and message size', async () => {
    const two = {
      attachments: [
        { name: 'a.txt', content: 'a' },
        { name: 'b.txt', content: 'b' },
      ],
    };
    assert.equal(
      await matches(quarantineIf([{ field: 'attachment.count', operator: 'is', value: 2 }]), two),
      true,
    );
    assert.equal(
      await matches(quarantineIf([{ field: 'attachment.count', operator: 'is', value: 0 }])),
      true,
    );
    assert.equal(
      await matches(quarantineIf([{ field: 'message.size', operator: 'atMost', value: 100 }])),
      false,
    );
  });

  it('encrypted archive and archive member name and type', async () => {
    const encrypted = {
      attachments: [
        {
          name: 'docs.zip',
          content: createEncryptedZip({ name: 'a.txt', content: Buffer.from('x') }, 'pw'),
        },
      ],
    };
    const rule = quarantineIf([{ field: 'archive.encrypted', operator: 'is', value: true }]);
    assert.equal(await matches(rule, encrypted), true);
    const plain = {
      attachments: [
        {
          name: 'docs.zip',
          content: await createZip([{ name: 'setup.exe', content: Buffer.from(peImage()) }]),
        },
      ],
    };
    assert.equal(await matches(rule, plain), false);
    assert.equal(
      await matches(
        quarantineIf([{ field: 'archive.memberName', operator: 'matches', value: '\\.exe$' }]),
        plain,
      ),
      true,
    );
    assert.equal(
      await matches(
        quarantineIf([{ field: 'archive.memberType', operator: 'is', value: 'exe' }]),
        plain,
      ),
      true,
    );
  });

  it('SPF, DKIM and DMARC from the topmost Authentication-Results', async () => {
    const headers = {
      'Authentication-Results':
        'mx.contoso.com; spf=fail smtp.mailfrom=partner.example; dkim=pass header.d=partner.example; dmarc=fail header.from=partner.example',
    };
    assert.equal(
      await matches(quarantineIf([{ field: 'auth.spf', operator: 'is', value: 'fail' }]), {
        headers,
      }),
      true,
    );
    assert.equal(
      await matches(quarantineIf([{ field: 'auth.dkim', operator: 'isNot', value: 'pass' }]), {
        headers,
      }),
      false,
    );
    assert.equal(
      await matches(
        quarantineIf([{ field: 'auth.dmarc', operator: 'is', value: ['fail', 'temperror'] }]),
        { headers },
      ),
      true,
    );
  });

  it('sender IP from the Received chain, skipping private hops', async () => {
    const headers = {
      Received: 'from edge.contoso.com ([10.1.2.3]) by mx.contoso.com',
      'X-Dummy': 'x',
    };
    const message = { headers };
    // Only the first Received header is in `headers`; add the external hop to the body of lines.
    const raw = Buffer.from(buildMessage(message))
      .toString()
      .replace(
        'X-Dummy: x',
        'Received: from mail.partner.example (mail.partner.example [203.0.113.9]) by edge.contoso.com',
      );
    const pipeline = await createRulesPipeline(
      quarantineIf([{ field: 'sender.ip', operator: 'inRange', value: ['203.0.113.0/24'] }]),
    );
    const { verdict } = await pipeline.scan(Buffer.from(raw));
    assert.equal(verdict.decidingRule, 'Under test');
  });

  it('mailbox and folder from the scan context', async () => {
    const rule = quarantineIf([
      { field: 'mailbox', operator: 'is', value: 'bob@contoso.com' },
      { field: 'folder', operator: 'is', value: 'inbox' },
    ]);
    assert.equal(await matches(rule, {}, { mailbox: 'Bob@Contoso.com', folder: 'Inbox' }), true);
    assert.equal(await matches(rule, {}, { mailbox: 'bob@contoso.com', folder: 'Archive' }), false);
  });

  it('received time frames in a time zone and date ranges', async () => {
    // Tuesday 2026-03-03 10:15 UTC is 11:15 in Berlin.
    const receivedAt = new Date('2026-03-03T10:15:00Z');
    const office = quarantineIf([
      {
        field: 'received',
        operator: 'within',
        value: { days: ['tue'], start: '11:00', end: '12:00', timeZone: 'Europe/Berlin' },
      },
    ]);
    assert.equal(await matches(office, {}, { receivedAt }), true);
    const night = quarantineIf([
      { field: 'received', operator: 'within', value: { start: '22:00', end: '06:00' } },
    ]);
    assert.equal(await matches(night, {}, { receivedAt }), false);
    assert.equal(await matches(night, {}, { receivedAt: new Date('2026-03-03T23:30:00Z') }), true);
    const range = quarantineIf([
      { field: 'received', operator: 'between', value: { after: '2026-03-01T00:00:00Z' } },
    ]);
    assert.equal(await matches(range, {}, { receivedAt }), true);
    assert.equal(await matches(range, {}, { receivedAt: new Date('2026-02-01T00:00:00Z') }), false);
  });

  it('lists of addresses and domains, with subdomains', async () => {
    const ruleSet = {
      lists: { partners: { values: ['partner.example', 'ceo@contoso.com'] } },
      ...quarantineIf([{ field: 'sender.address', operator: 'inList', value: 'partners' }]),
    };
    assert.equal(await matches(ruleSet, { from: 'x@mail.partner.example' }), true);
    assert.equal(await matches(ruleSet, { from: 'x@partner.example.evil' }), false);
  });

  it('engine results: antivirus category, spam score and phishing finding', async () => {
    const scored = {
      rules: [
        {
          name: 'Scored',
          point: 'results',
          conditions: [{ field: 'spam.score', operator: 'between', value: [0, 1] }],
          actions: [{ type: 'log' }],
        },
      ],
    };
    assert.equal(await matches(scored), true, 'the classifier score is read');
    const phish = {
      rules: [
        {
          name: 'Phish',
          point: 'results',
          conditions: [{ field: 'phishing.finding', operator: 'is', value: 'Phish.Lookalike' }],
          actions: [{ type: 'quarantine' }],
        },
      ],
    };
    const link = { body: 'Sign in at https://login.c0ntoso.com/reset to keep your account.' };
    assert.equal(await matches(phish, link), true);
    assert.equal(await matches(phish), false);
    const malware = {
      rules: [
        {
          name: 'Malware',
          point: 'results',
          conditions: [{ field: 'av.category', operator: 'is', value: 'malware' }],
          actions: [{ type: 'delete' }],
        },
      ],
    };
    const eicar = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
    const deleted = await (
      await createRulesPipeline(malware)
    ).scan(buildMessage({ attachments: [{ name: 'e.com', content: eicar }] }));
    assert.equal(deleted.verdict.category, 'malware');
    assert.equal(deleted.verdict.action, 'delete');
    assert.equal(deleted.verdict.decidingRule, 'Malware');
  });
});

describe('rule evaluation', () => {
  it('executes the first matching rule only, unless it continues', async () => {
    const rule = (name: string, actions: unknown[]) => ({
      name,
      conditions: [{ field: 'subject', operator: 'contains', value: 'figures' }],
      actions,
    });
    const first = await createRulesPipeline({
      rules: [rule('one', [{ type: 'tag', category: 'One' }]), rule('two', [{ type: 'junk' }])],
    });
    const firstVerdict = (await first.scan(buildMessage())).verdict;
    assert.deepEqual(
      firstVerdict.ruleMatches?.map((match) => match.rule),
      ['one'],
    );
    assert.equal(firstVerdict.action, 'tag');
    const both = await createRulesPipeline({
      rules: [
        rule('one', [{ type: 'tag', category: 'One' }, { type: 'continue' }]),
        rule('two', [{ type: 'junk' }]),
      ],
    });
    const bothVerdict = (await both.scan(buildMessage())).verdict;
    assert.deepEqual(
      bothVerdict.ruleMatches?.map((match) => match.rule),
      ['one', 'two'],
    );
    assert.equal(bothVerdict.action, 'junk');
    assert.equal(bothVerdict.category, 'spam');
    assert.equal(bothVerdict.decidingRule, 'two');
  });

  it('stop ends evaluation at later points too', async () => {
    const pipeline = await createRulesPipeline({
      rules: [
        {
          name: 'trusted',
          conditions: [{ field: 'sender.domain', operator: 'is', value: 'partner.example' }],
          actions: [{ type: 'stop' }],
        },
        {
          name: 'later',
          point: 'results',
          conditions: [{ field: 'av.category', operator: 'is', value: 'clean' }],
          actions: [{ type: 'junk' }],
        },
      ],
    });
    const { verdict } = await pipeline.scan(buildMessage());
    assert.deepEqual(
      verdict.ruleMatches?.map((match) => match.rule),
      ['trusted'],
    );
    assert.equal(verdict.action, 'none');
  });

  it('skip keeps the named engines from running', async () => {
    const eicar = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
    const pipeline = await createRulesPipeline({
      rules: [
        {
          name: 'Trusted partner',
          conditions: [{ field: 'sender.domain', operator: 'is', value: 'partner.example' }],
          actions: [{ type: 'skip', stages: ['antivirus', 'antispam', 'antiphishing'] }],
        },
      ],
    });
    const { verdict } = await pipeline.scan(
      buildMessage({ attachments: [{ name: 'e.com', content: eicar }] }),
    );
    assert.equal(verdict.category, 'clean');
    assert.equal(verdict.spam, undefined, 'the antispam engine did not run');
    assert.equal(verdict.decidingRule, 'Trusted partner');
  });

  it('a rule cannot lower the action engines call for', async () => {
    const eicar = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
    const pipeline = await createRulesPipeline({
      rules: [
        {
          name: 'Tag all',
          conditions: [{ field: 'subject', operator: 'contains', value: 'figures' }],
          actions: [{ type: 'tag', category: 'Seen' }],
        },
      ],
    });
    const { verdict } = await pipeline.scan(
      buildMessage({ attachments: [{ name: 'e.com', content: eicar }] }),
    );
    assert.equal(verdict.category, 'malware');
    assert.equal(verdict.action, 'quarantine');
    assert.equal(verdict.decidingRule, undefined);
    assert.deepEqual(verdict.ruleActions, [{ type: 'tag', rule: 'Tag all', category: 'Seen' }]);
  });

  it('log-only mode records matches and changes nothing', async () => {
    const pipeline = await createRulesPipeline({
      mode: 'log-only',
      rules: [
        {
          name: 'Would quarantine',
          conditions: [{ field: 'subject', operator: 'contains', value: 'figures' }],
          actions: [{ type: 'quarantine' }, { type: 'skip', stages: ['antispam'] }],
        },
      ],
    });
    const { verdict } = await pipeline.scan(buildMessage());
    assert.equal(verdict.category, 'clean');
    assert.equal(verdict.action, 'none');
    assert.notEqual(verdict.spam, undefined, 'antispam still ran');
    assert.equal(verdict.ruleMatches?.[0]?.logOnly, true);
    assert.equal(verdict.decidingRule, undefined);
  });

  it('attachment rules run per attachment and name the part', async () => {
    const pipeline = await createRulesPipeline({
      rules: [
        {
          name: 'Strip executables',
          point: 'attachment',
          conditions: [{ field: 'attachment.extension', operator: 'is', value: ['exe', 'scr'] }],
          actions: [{ type: 'removeAttachment' }],
        },
      ],
    });
    const message = buildMessage({
      attachments: [
        { name: 'a.exe', content: 'x' },
        { name: 'notes.txt', content: 'y' },
        { name: 'b.zip', content: await createZip([{ name: 'c.scr', content: Buffer.from('z') }]) },
      ],
    });
    const { verdict } = await pipeline.scan(message);
    assert.deepEqual(
      verdict.ruleActions?.map((action) =>
        action.type === 'removeAttachment' ? action.mimePath : '',
      ),
      ['2', '4'],
      'a member of an archive removes the archive attachment',
    );
  });

  it('scope limits a rule to mailboxes, folders, triggers and groups', async () => {
    const scoped = (scope: unknown) =>
      quarantineIf([{ field: 'subject', operator: 'contains', value: 'figures' }], { scope });
    assert.equal(
      await matches(scoped({ triggers: ['arrival'] }), {}, { trigger: 'arrival' }),
      true,
    );
    assert.equal(
      await matches(scoped({ triggers: ['arrival'] }), {}, { trigger: 'scheduled' }),
      false,
    );
    assert.equal(
      await matches(scoped({ triggers: ['arrival'] }), {}, {}),
      false,
      'an unknown trigger is outside the scope',
    );
    assert.equal(
      await matches(scoped({ mailboxes: ['bob@contoso.com'] }), {}, { mailbox: 'BOB@contoso.com' }),
      true,
    );
    assert.equal(await matches(scoped({ folders: ['Inbox'] }), {}, { folder: 'Archive' }), false);
    assert.equal(await matches(scoped({ groups: ['Finance'] }), {}, { groups: ['finance'] }), true);
  });

  it('notify renders its template from the rule', async () => {
    const pipeline = await createRulesPipeline({
      rules: [
        {
          name: 'Tell admin',
          conditions: [{ field: 'subject', operator: 'contains', value: 'figures' }],
          actions: [
            {
              type: 'notify',
              to: 'admin',
              template: '{{rule}} matched in {{mailbox}}: {{reason}}',
            },
          ],
        },
      ],
    });
    const { verdict } = await pipeline.scan(buildMessage(), { mailbox: 'bob@contoso.com' });
    assert.deepEqual(verdict.ruleActions, [
      {
        type: 'notify',
        rule: 'Tell admin',
        to: 'admin',
        text: 'Tell admin matched in bob@contoso.com: subject contains "figures"',
      },
    ]);
  });

  it('regular expressions stay linear on input that backtracks', async () => {
    const pipeline = await createRulesPipeline(
      quarantineIf([{ field: 'body', operator: 'matches', value: '^(a+)+$' }]),
    );
    const { verdict } = await pipeline.scan(buildMessage({ body: `${'a'.repeat(50_000)}!` }));
    assert.deepEqual(verdict.ruleMatches, []);
    assert.equal(verdict.category, 'clean');
  });
});
