import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { handleScanMessage } from '../../src/arrival/scan-message.js';
import { ReleasedMessages } from '../../src/quarantine/released-messages.js';
import { buildSamples, GTUBE } from '../../src/samples/samples.js';
import { createArrivalFixture, jobFor, openTestTable, uniqueMailbox, verdictsOf } from './arrival-test-support.js';

const samples = await buildSamples();
const eicar = samples.find((sample) => sample.expected.signature === 'Eicar-Test-Signature');
assert.ok(eicar);

const EICAR_ID = '<sample-eicar@fabrikam.example>';
const first = { deliveryCount: 1, messageId: 'queue-1' };
const gtube = Buffer.from(
  'From: news@fabrikam.example\r\nTo: user@contoso.com\r\nSubject: Offer\r\n' +
    'Message-ID: <offer@fabrikam.example>\r\nContent-Type: text/plain\r\n\r\n' +
    `Buy now ${GTUBE}\r\n`,
);

function sha256(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex');
}

async function fixtureWithMemory() {
  const fixture = await createArrivalFixture();
  const memory = new ReleasedMessages(await openTestTable('released'));
  fixture.deps.releases = memory;
  return { ...fixture, memory };
}

describe('scan consumer and released messages', () => {
  it('leaves a released message in place', async () => {
    const { deps, client, store, verdictTable, memory } = await fixtureWithMemory();
    await memory.remember(EICAR_ID, sha256(eicar.raw), new Date());
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'acted');

    assert.ok(client.find(mailbox, id), 'the message is still in the Inbox');
    assert.equal(store.puts, 0);
    const [record] = await verdictsOf(verdictTable, mailbox);
    assert.equal(record?.category, 'malware');
    assert.equal(record?.action, 'none');
  });

  it('quarantines the same id with other bytes', async () => {
    const { deps, client, store, memory } = await fixtureWithMemory();
    await memory.remember(EICAR_ID, sha256(Buffer.from('other bytes')), new Date());
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'acted');

    assert.equal(client.find(mailbox, id), undefined);
    assert.equal(store.puts, 1);
  });

  it('leaves spam from an allowed sender in place', async () => {
    const { deps, client, verdictTable, memory } = await fixtureWithMemory();
    await memory.allowSender('News@Fabrikam.example', 'oid-admin', new Date());
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, gtube, { internetMessageId: '<offer@fabrikam.example>' });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'acted');

    assert.ok(client.find(mailbox, id));
    const [record] = await verdictsOf(verdictTable, mailbox);
    assert.equal(record?.category, 'spam');
    assert.equal(record?.action, 'none');
  });

  it('still quarantines malware from an allowed sender', async () => {
    const { deps, client, store, memory } = await fixtureWithMemory();
    const sender = /^From: .*?([^\s<>]+@[^\s<>]+)/m.exec(eicar.raw.toString('latin1'))?.[1] ?? '';
    await memory.allowSender(sender, 'oid-admin', new Date());
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'acted');

    assert.equal(client.find(mailbox, id), undefined);
    assert.equal(store.puts, 1);
  });
});
