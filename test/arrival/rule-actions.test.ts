import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import PostalMime from 'postal-mime';

import { handleScanMessage } from '../../src/arrival/scan-message.js';
import { HiddenFolders } from '../../src/arrival/mailbox-actions.js';
import { createRuleNotifier } from '../../src/arrival/rule-notifier.js';
import { GroupScope } from '../../src/arrival/group-scope.js';
import { compileRuleSet } from '../../src/rules/compile-rules.js';
import { createRuleHook } from '../../src/rules/evaluate-rules.js';
import { createEngines } from '../../src/scanning/engines.js';
import { createInProcessScanner } from '../../src/scanning/message-scanner.js';
import { createPipeline } from '../../src/scanning/pipeline.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startGraphFixture, type GraphFixture } from '../graph/graph-test-support.js';
import { testSettings } from '../helpers/pipeline.js';
import { buildMessage } from '../rules/rule-fixtures.js';
import { createArrivalFixture, jobFor, verdictsOf } from './arrival-test-support.js';

const first = { deliveryCount: 1, messageId: 'queue-1' };

async function scannerFor(ruleSet: unknown) {
  const compiled = await compileRuleSet(ruleSet, { maxRules: 10 });
  const settings = testSettings();
  const pipeline = createPipeline({
    limits: settings.limits,
    actions: settings.actions,
    engines: await createEngines(settings),
    logger: silentLogger,
    rules: createRuleHook({ current: () => compiled }),
  });
  return createInProcessScanner(pipeline);
}

const stripRules = {
  rules: [
    {
      name: 'Strip binaries',
      point: 'attachment',
      conditions: [{ field: 'attachment.extension', operator: 'is', value: 'bin' }],
      actions: [{ type: 'removeAttachment' }],
    },
  ],
};

describe('scan consumer rule actions on Graph', () => {
  let graph: GraphFixture;

  before(async () => {
    graph = await startGraphFixture();
  });
  after(async () => {
    await graph.close();
  });

  it('quarantines the original, then removes the attachment', async () => {
    const fixture = await createArrivalFixture({}, { scanner: await scannerFor(stripRules) });
    const { deps, store, verdictTable } = fixture;
    deps.client = graph.client;
    deps.hiddenFolders = new HiddenFolders(graph.client, deps.settings.arrival.quarantineFolderName);
    const mailbox = graph.sim.addMailbox(`strip-${Date.now()}@contoso.com`);
    const raw = Buffer.from(
      buildMessage({
        attachments: [
          { name: 'notes.txt', content: 'plain notes', type: 'text/plain' },
          { name: 'payload.bin', content: 'opaque bytes' },
        ],
      }),
    );
    const delivered = graph.sim.deliverMessage(mailbox.mail, { mime: raw });

    const outcome = await handleScanMessage(jobFor(mailbox.mail, delivered.id), first, deps);

    assert.equal(outcome, 'acted');
    assert.equal(store.puts, 1);
    const stored = graph.sim.message(mailbox.mail, delivered.id);
    assert.deepEqual(
      stored?.attachments?.map((attachment) => attachment.name),
      ['notes.txt'],
    );
    assert.ok(stored?.categories.includes('mailsweep: attachment removed'));
    const [record] = await verdictsOf(verdictTable, mailbox.mail);
    assert.ok(record?.quarantineId, 'the verdict names the quarantined original');
    assert.equal(record.decidingRule, 'Strip binaries');
    await deps.store.verify(record.quarantineId);
  });

  it('leaves a message without a removable attachment unstored', async () => {
    const fixture = await createArrivalFixture({}, { scanner: await scannerFor(stripRules) });
    const { deps, store } = fixture;
    deps.client = graph.client;
    deps.hiddenFolders = new HiddenFolders(graph.client, deps.settings.arrival.quarantineFolderName);
    const mailbox = graph.sim.addMailbox(`keep-${Date.now()}@contoso.com`);
    const raw = Buffer.from(buildMessage({ attachments: [{ name: 'notes.txt', content: 'x' }] }));
    const delivered = graph.sim.deliverMessage(mailbox.mail, { mime: raw });
    const countDeletes = () => graph.sim.requestLog.filter((entry) => entry.method === 'DELETE').length;
    const deletesBefore = countDeletes();

    assert.equal(await handleScanMessage(jobFor(mailbox.mail, delivered.id), first, deps), 'acted');
    assert.equal(store.puts, 0);
    assert.equal(countDeletes(), deletesBefore);
  });

  it('notifies once per rule, with the subject escaped', async () => {
    const notifyRules = {
      rules: [
        {
          name: 'Binary alert',
          point: 'attachment',
          conditions: [{ field: 'attachment.extension', operator: 'is', value: 'bin' }],
          actions: [
            { type: 'notify', to: 'admin', template: 'Rule {{rule}} saw {{mimePath}}' },
            { type: 'continue' },
          ],
        },
      ],
    };
    const fixture = await createArrivalFixture({}, { scanner: await scannerFor(notifyRules) });
    const { deps } = fixture;
    deps.client = graph.client;
    deps.hiddenFolders = new HiddenFolders(graph.client, deps.settings.arrival.quarantineFolderName);
    const alerts = graph.sim.addMailbox(`alerts-${Date.now()}@contoso.com`);
    deps.notifier = createRuleNotifier({
      settings: { sender: alerts.mail, admins: ['admin@contoso.com'], maxPerHour: 100 },
      mailSender: graph.client,
      logger: silentLogger,
    });
    const mailbox = graph.sim.addMailbox(`notify-${Date.now()}@contoso.com`);
    const raw = Buffer.from(
      buildMessage({
        subject: 'Invoice <script>alert(1)</script>',
        body: 'SECRET-BODY-TEXT',
        attachments: [
          { name: 'one.bin', content: 'first' },
          { name: 'two.bin', content: 'second' },
        ],
      }),
    );
    const delivered = graph.sim.deliverMessage(mailbox.mail, { mime: raw });
    const sentBefore = graph.sim.sentMail.length;

    assert.equal(await handleScanMessage(jobFor(mailbox.mail, delivered.id), first, deps), 'acted');
    assert.equal(
      await handleScanMessage(jobFor(mailbox.mail, delivered.id), { ...first, messageId: 'queue-2' }, deps),
      'duplicate',
    );

    const sent = graph.sim.sentMail.slice(sentBefore);
    assert.equal(sent.length, 1, 'two matching attachments, one notification');
    assert.equal(sent[0]?.mailboxId, alerts.id);
    assert.equal(sent[0]?.format, 'mime');
    const email = await PostalMime.parse(sent[0]?.mime ?? '');
    assert.deepEqual(email.to?.map((entry) => entry.address), ['admin@contoso.com']);
    assert.match(email.html ?? '', /Invoice &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.doesNotMatch(email.html ?? '', /<script>/);
    assert.match(email.text ?? '', /Subject: Invoice <script>alert\(1\)<\/script>/);
    assert.doesNotMatch(sent[0]?.mime?.toString('latin1') ?? '', /SECRET-BODY-TEXT/);
  });

  it('applies a group-scoped rule to transitive members only', async () => {
    const member = graph.sim.addMailbox(`member-${Date.now()}@contoso.com`);
    const outsider = graph.sim.addMailbox(`outsider-${Date.now()}@contoso.com`);
    const team = graph.sim.addGroup([graph.sim.addGroup([member.id])]);
    const groupRules = {
      rules: [
        {
          name: 'Team tag',
          scope: { groups: [team] },
          conditions: [{ field: 'subject', operator: 'contains', value: 'figures' }],
          actions: [{ type: 'tag', category: 'Team mail' }],
        },
      ],
    };
    const fixture = await createArrivalFixture({}, { scanner: await scannerFor(groupRules) });
    const { deps } = fixture;
    deps.client = graph.client;
    deps.hiddenFolders = new HiddenFolders(graph.client, deps.settings.arrival.quarantineFolderName);
    deps.groupScope = new GroupScope({
      directory: graph.client,
      ruleGroups: () => ({ version: 1, groups: [team] }),
      ttlMs: 60_000,
      logger: silentLogger,
    });
    const raw = Buffer.from(buildMessage());
    const toMember = graph.sim.deliverMessage(member.mail, { mime: raw });
    const toOutsider = graph.sim.deliverMessage(outsider.mail, { mime: raw });

    assert.equal(await handleScanMessage(jobFor(member.mail, toMember.id), first, deps), 'acted');
    assert.equal(await handleScanMessage(jobFor(outsider.mail, toOutsider.id), first, deps), 'acted');

    assert.ok(graph.sim.message(member.mail, toMember.id)?.categories.includes('Team mail'));
    assert.ok(!graph.sim.message(outsider.mail, toOutsider.id)?.categories.includes('Team mail'));
  });
});
