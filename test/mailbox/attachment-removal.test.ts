import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { findAttachmentTargets } from '../../src/arrival/attachment-targets.js';
import { pickAttachment } from '../../src/mailbox/attachment-match.js';
import { MailboxRouter } from '../../src/mailbox/mailbox-router.js';
import type { AttachmentTarget } from '../../src/mailbox/mailbox-client.js';
import type { EwsSimulator } from '../ews-simulator/ews-simulator.js';
import { clientFor, startSimulator } from '../ews/ews-test-support.js';
import { startGraphFixture, type GraphFixture } from '../graph/graph-test-support.js';
import { testSettings } from '../helpers/pipeline.js';
import { buildMessage, peImage } from '../rules/rule-fixtures.js';

const limits = testSettings().limits;

/** report.pdf, setup.exe and a second report.pdf, as parts 2, 3 and 4. */
const message = Buffer.from(
  buildMessage({
    attachments: [
      { name: 'report.pdf', content: '%PDF-1.4 first', type: 'application/pdf' },
      { name: 'setup.exe', content: peImage() },
      { name: 'report.pdf', content: '%PDF-1.4 second', type: 'application/pdf' },
    ],
  }),
);

/** A body, and a forwarded message holding a zip. */
const forwarded = Buffer.from(
  [
    'From: a@fabrikam.example',
    'To: b@contoso.com',
    'Subject: forward',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    '--outer',
    'Content-Type: text/plain',
    '',
    'See below.',
    '--outer',
    'Content-Type: message/rfc822',
    '',
    'From: c@fabrikam.example',
    'Subject: inner',
    'Content-Type: text/plain',
    '',
    'inner body',
    '--outer--',
    '',
  ].join('\r\n'),
);

async function targetOf(raw: Buffer, path: string): Promise<AttachmentTarget> {
  const target = (await findAttachmentTargets(raw, [path], limits)).get(path);
  assert.ok(target, `a target for part ${path}`);
  return target;
}

describe('findAttachmentTargets', () => {
  it('places an attachment among all and same-named ones', async () => {
    const target = await targetOf(message, '4');
    assert.equal(target.name, 'report.pdf');
    assert.equal(target.index, 2);
    assert.equal(target.count, 3);
    assert.equal(target.nameIndex, 1);
    assert.equal(target.nameCount, 2);
  });

  it('maps an archive member to its top-level attachment', async () => {
    const target = await targetOf(message, '3!inner/setup.exe');
    assert.equal(target.mimePath, '3');
    assert.equal(target.name, 'setup.exe');
  });

  it('maps a nested message part to the nested message', async () => {
    const target = await targetOf(forwarded, '2/1');
    assert.equal(target.mimePath, '2');
    assert.equal(target.contentType, 'message/rfc822');
    assert.equal(target.count, 1);
  });

  it('finds no target for a body part', async () => {
    const targets = await findAttachmentTargets(message, ['1', '1#uu1'], limits);
    assert.equal(targets.size, 0);
  });
});

describe('pickAttachment', () => {
  const target: AttachmentTarget = {
    mimePath: '4',
    name: 'report.pdf',
    contentType: 'application/pdf',
    index: 2,
    count: 3,
    nameIndex: 1,
    nameCount: 2,
  };

  it('picks by name and position among the same name', () => {
    const listed = [
      { id: 'a', name: 'report.pdf' },
      { id: 'b', name: 'setup.exe' },
      { id: 'c', name: 'Report.PDF' },
    ];
    assert.equal(pickAttachment(listed, target)?.id, 'c');
  });

  it('picks a nameless target by position when the counts agree', () => {
    const nameless = { ...target, name: '', index: 1, nameIndex: 0, nameCount: 1 };
    const listed = [
      { id: 'a', name: 'x' },
      { id: 'b', name: 'Forwarded subject' },
      { id: 'c', name: 'y' },
    ];
    assert.equal(pickAttachment(listed, nameless)?.id, 'b');
  });

  it('returns nothing when the lists cannot be lined up', () => {
    const listed = [
      { id: 'a', name: 'report.pdf' },
      { id: 'b', name: 'other.bin' },
    ];
    assert.equal(pickAttachment(listed, target), undefined);
  });
});

describe('GraphClient.removeAttachment', () => {
  let fixture: GraphFixture;

  before(async () => {
    fixture = await startGraphFixture();
  });
  after(async () => {
    await fixture.close();
  });

  it('deletes the matching attachment once', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('strip@contoso.com');
    const delivered = sim.deliverMessage(mailbox.mail, { mime: message });
    const target = await targetOf(message, '4');

    assert.equal(await client.removeAttachment(mailbox.mail, delivered.id, target), 'removed');
    assert.equal(await client.removeAttachment(mailbox.mail, delivered.id, target), 'not-found');

    const stored = sim.message(mailbox.mail, delivered.id);
    assert.deepEqual(
      stored?.attachments?.map((attachment) => attachment.name),
      ['report.pdf', 'setup.exe'],
    );
    const deletes = sim.requestLog.filter(
      (entry) => entry.method === 'DELETE' && entry.path.includes('/attachments/'),
    );
    assert.equal(deletes.length, 1);
  });

  it('removes a forwarded message as an item attachment', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('strip-item@contoso.com');
    const delivered = sim.deliverMessage(mailbox.mail, { mime: forwarded });
    const target = await targetOf(forwarded, '2/1');

    assert.equal(await client.removeAttachment(mailbox.mail, delivered.id, target), 'removed');
    assert.deepEqual(sim.message(mailbox.mail, delivered.id)?.attachments, []);
  });
});

describe('EwsClient.removeAttachment', () => {
  let simulator: EwsSimulator;
  const address = 'strip@contoso.com';

  before(async () => {
    simulator = await startSimulator();
    simulator.addMailbox(address);
  });
  after(async () => {
    await simulator.close();
  });

  it('deletes the matching attachment and keeps the item id', async () => {
    const item = simulator.deliverMessage(address, { mime: message });
    const client = clientFor(simulator);
    const target = await targetOf(message, '3');

    assert.equal(await client.removeAttachment(address, item.id, target), 'removed');
    assert.equal(await client.removeAttachment(address, item.id, target), 'not-found');
    client.close();

    const stored = simulator.mailbox(address).items.get(item.id);
    assert.deepEqual(
      stored?.attachments?.map((attachment) => attachment.name),
      ['report.pdf', 'report.pdf'],
    );
    const deletes = simulator.requestLog.filter((entry) => entry.operation === 'DeleteAttachment');
    assert.equal(deletes.length, 1);
  });
});

describe('MailboxRouter.removeAttachment', () => {
  let graph: GraphFixture;
  let simulator: EwsSimulator;

  before(async () => {
    graph = await startGraphFixture();
    simulator = await startSimulator();
  });
  after(async () => {
    await graph.close();
    await simulator.close();
  });

  it('routes a hybrid mailbox to EWS', async () => {
    const address = 'hybrid-strip@contoso.com';
    graph.sim.addMailbox(address, 'on-premises');
    simulator.addMailbox(address);
    const item = simulator.deliverMessage(address, { mime: message });
    const ews = clientFor(simulator);
    const router = new MailboxRouter({ graph: graph.client, ews });

    const result = await router.removeAttachment(address, item.id, await targetOf(message, '2'));
    ews.close();

    assert.equal(result, 'removed');
    assert.equal(router.routeOf(address), 'ews');
    const names = simulator.mailbox(address).items.get(item.id)?.attachments?.map((a) => a.name);
    assert.deepEqual(names, ['setup.exe', 'report.pdf']);
  });
});
