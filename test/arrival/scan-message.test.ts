import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { handleScanMessage } from '../../src/arrival/scan-message.js';
import { buildSamples, GTUBE } from '../../src/samples/samples.js';
import { compileRuleSet } from '../../src/rules/compile-rules.js';
import { createRuleHook } from '../../src/rules/evaluate-rules.js';
import { createEngines } from '../../src/scanning/engines.js';
import { createInProcessScanner, type MessageScanner } from '../../src/scanning/message-scanner.js';
import { createPipeline } from '../../src/scanning/pipeline.js';
import { ScannerError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/logger.js';
import { testSettings } from '../helpers/pipeline.js';
import { createArrivalFixture, jobFor, uniqueMailbox, verdictsOf } from './arrival-test-support.js';

const samples = await buildSamples();
const eicar = samples.find((sample) => sample.expected.signature === 'Eicar-Test-Signature');
const cleanSample = samples.find((sample) => sample.expected.category === 'clean');
assert.ok(eicar);
assert.ok(cleanSample);

const EICAR_ID = '<sample-eicar@fabrikam.example>';
const first = { deliveryCount: 1, messageId: 'queue-1' };

function plainMessage(subject: string, body: string, messageId?: string): Buffer {
  const headers = [
    'From: sender@fabrikam.example',
    'To: user@contoso.com',
    `Subject: ${subject}`,
    'Date: Thu, 03 Dec 2026 09:15:00 +0000',
    ...(messageId === undefined ? [] : [`Message-ID: ${messageId}`]),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
  ];
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}\r\n`);
}

const gtubeMessage = plainMessage('Offer', `Buy now ${GTUBE}`, '<gtube@fabrikam.example>');

describe('handleScanMessage actions', () => {
  it('quarantines the EICAR sample into the hidden folder', async () => {
    const { deps, client, store, verdictTable } = await createArrivalFixture();
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });

    const outcome = await handleScanMessage(jobFor(mailbox, id), first, deps);

    assert.equal(outcome, 'acted');
    assert.equal(client.find(mailbox, id), undefined);
    const folderId = client.folderIdByName(mailbox, deps.settings.arrival.quarantineFolderName);
    assert.ok(folderId);
    assert.equal(client.isHidden(mailbox, folderId), true);
    const moved = client.messagesIn(mailbox, folderId);
    assert.equal(moved.length, 1);
    const [record] = await verdictsOf(verdictTable, mailbox);
    assert.equal(record?.category, 'malware');
    assert.equal(record?.action, 'quarantine');
    assert.equal(record?.outcome, 'scanned');
    assert.equal(record?.messageId, moved[0]?.id);
    assert.equal(record?.internetMessageId, EICAR_ID);
    assert.equal(record?.trigger, 'arrival');
    assert.ok(record?.signatures?.includes('Eicar-Test-Signature'));
    assert.ok(record?.quarantineId);
    const stored = await store.getContent(record.quarantineId);
    const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
    assert.equal(sha(stored), sha(eicar.raw));
  });

  it('moves spam to Junk Email', async () => {
    const { deps, client, store, verdictTable } = await createArrivalFixture();
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, gtubeMessage, { internetMessageId: '<gtube@fabrikam.example>' });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'acted');

    assert.equal(client.messagesIn(mailbox, client.folderIdOf('junkemail')).length, 1);
    assert.equal(store.puts, 0);
    const [record] = await verdictsOf(verdictTable, mailbox);
    assert.equal(record?.category, 'spam');
    assert.equal(record?.action, 'junk');
  });

  it('tags spam with a category and a flag', async () => {
    const { deps, client, verdictTable } = await createArrivalFixture({
      MAILSWEEP_ACTION_SPAM: 'tag',
      MAILSWEEP_TAG_FLAG: 'true',
    });
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, gtubeMessage, { internetMessageId: '<gtube@fabrikam.example>' });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'acted');

    const message = client.find(mailbox, id);
    assert.deepEqual(message?.categories, ['mailsweep: spam']);
    assert.equal(message?.flagged, true);
    const [record] = await verdictsOf(verdictTable, mailbox);
    assert.equal(record?.action, 'tag');
    assert.equal(record?.messageId, id);
  });

  it('stores and verifies before the delete action', async () => {
    const { deps, client, store, verdictTable } = await createArrivalFixture({ MAILSWEEP_ACTION_MALWARE: 'delete' });
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'acted');

    assert.equal(client.find(mailbox, id), undefined);
    assert.equal(store.created, 1);
    const [record] = await verdictsOf(verdictTable, mailbox);
    assert.equal(record?.action, 'delete');
    assert.ok(record?.quarantineId);
    await store.verify(record.quarantineId);
  });

  it('deletes after storing when quarantine removal is delete', async () => {
    const { deps, client, store } = await createArrivalFixture({
      MAILSWEEP_QUARANTINE_REMOVAL: 'delete',
      MAILSWEEP_DELETE_MODE: 'deleted-items',
    });
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'acted');

    assert.equal(client.find(mailbox, id), undefined);
    assert.equal(client.messagesIn(mailbox, client.folderIdOf('deleteditems')).length, 1);
    assert.equal(client.folderIdByName(mailbox, deps.settings.arrival.quarantineFolderName), undefined);
    assert.equal(store.created, 1);
  });

  it('records a clean message and leaves it in place', async () => {
    const { deps, client, verdictTable } = await createArrivalFixture();
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, cleanSample.raw, { internetMessageId: '<clean@fabrikam.example>' });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'acted');

    assert.ok(client.find(mailbox, id));
    const [record] = await verdictsOf(verdictTable, mailbox);
    assert.equal(record?.category, 'clean');
    assert.equal(record?.action, 'none');
  });

  it('skips drafts without recording', async () => {
    const { deps, client, verdictTable } = await createArrivalFixture();
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID, isDraft: true });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'draft');

    assert.ok(client.find(mailbox, id));
    assert.equal(client.count('getMime'), 0);
    assert.deepEqual(await verdictsOf(verdictTable, mailbox), []);
  });
});

describe('handleScanMessage duplicates', () => {
  it('acts once on the same notification twice', async () => {
    const { deps, client, store, verdictTable } = await createArrivalFixture();
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'acted');
    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'duplicate');

    assert.equal(client.count('moveMessage'), 1);
    assert.equal(store.puts, 1);
    assert.equal((await verdictsOf(verdictTable, mailbox)).length, 1);
  });

  it('acts once when two consumers run at once', async () => {
    const { deps, client, store, verdictTable } = await createArrivalFixture();
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });

    const outcomes = await Promise.all([
      handleScanMessage(jobFor(mailbox, id), first, deps),
      handleScanMessage(jobFor(mailbox, id), { deliveryCount: 1, messageId: 'queue-2' }, deps),
      handleScanMessage(jobFor(mailbox, id, 'catch-up'), { deliveryCount: 1, messageId: 'queue-3' }, deps),
    ]);

    assert.equal(outcomes.filter((outcome) => outcome === 'acted').length, 1);
    assert.equal(client.count('moveMessage'), 1);
    assert.equal(store.puts, 1);
    assert.equal((await verdictsOf(verdictTable, mailbox)).length, 1);
  });

  it('skips the new id that mailsweep gave a message by moving it', async () => {
    const { deps, client, store } = await createArrivalFixture();
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });
    await handleScanMessage(jobFor(mailbox, id), first, deps);
    const folderId = client.folderIdByName(mailbox, deps.settings.arrival.quarantineFolderName) ?? '';
    const [moved] = client.messagesIn(mailbox, folderId);
    assert.ok(moved);

    assert.equal(await handleScanMessage(jobFor(mailbox, moved.id), first, deps), 'duplicate');
    assert.equal(client.count('moveMessage'), 1);
    assert.equal(store.puts, 1);
  });

  it('skips a message a user moved after its scan', async () => {
    const { deps, client, store, verdictTable } = await createArrivalFixture();
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, gtubeMessage, { internetMessageId: '<gtube@fabrikam.example>' });
    await handleScanMessage(jobFor(mailbox, id), first, deps);
    const [inJunk] = client.messagesIn(mailbox, client.folderIdOf('junkemail'));
    assert.ok(inJunk);
    const userMovedId = await client.moveMessage(mailbox, inJunk.id, { wellKnown: 'inbox' });

    assert.equal(await handleScanMessage(jobFor(mailbox, userMovedId), first, deps), 'duplicate');
    assert.ok(client.find(mailbox, userMovedId));
    assert.equal(store.puts, 0);
    assert.equal((await verdictsOf(verdictTable, mailbox)).length, 1);
  });

  it('skips items in the hidden quarantine folder', async () => {
    const { deps, client } = await createArrivalFixture();
    const mailbox = uniqueMailbox();
    const folderId = await client.ensureHiddenFolder(mailbox, deps.settings.arrival.quarantineFolderName);
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: '<other@fabrikam.example>', folderId });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'in-quarantine-folder');
    assert.equal(client.count('getMime'), 0);
  });

  it('dedupes by content when there is no internet message id', async () => {
    const { deps, client, store } = await createArrivalFixture();
    const mailbox = uniqueMailbox();
    const raw = plainMessage('No id', `Buy now ${GTUBE}`);
    const firstId = client.deliver(mailbox, raw);
    const secondId = client.deliver(mailbox, raw);

    assert.equal(await handleScanMessage(jobFor(mailbox, firstId), first, deps), 'acted');
    assert.equal(await handleScanMessage(jobFor(mailbox, secondId), first, deps), 'duplicate');
    assert.equal(client.count('moveMessage'), 1);
    assert.equal(store.puts, 0);
  });
});

describe('handleScanMessage failures', () => {
  it('resumes after a failed move without a second copy', async () => {
    const { deps, client, store, verdictTable } = await createArrivalFixture();
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });
    client.failNext({ method: 'moveMessage', error: new ScannerError('mailbox-unavailable', 'Service unavailable') });

    await assert.rejects(handleScanMessage(jobFor(mailbox, id), first, deps), { code: 'mailbox-unavailable' });
    assert.ok(client.find(mailbox, id));
    assert.deepEqual(await verdictsOf(verdictTable, mailbox), []);

    const outcome = await handleScanMessage(jobFor(mailbox, id), { deliveryCount: 2, messageId: 'queue-1' }, deps);
    assert.equal(outcome, 'acted');
    assert.equal(store.puts, 1);
    assert.equal(client.count('getMime'), 1);
    const folderId = client.folderIdByName(mailbox, deps.settings.arrival.quarantineFolderName) ?? '';
    assert.equal(client.messagesIn(mailbox, folderId).length, 1);
    const records = await verdictsOf(verdictTable, mailbox);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.action, 'quarantine');
  });

  it('confirms a move whose answer was lost', async () => {
    const { deps, client, store, verdictTable } = await createArrivalFixture();
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });
    // The move happens in the mailbox, but its response never reaches the consumer.
    const move = client.moveMessage.bind(client);
    client.moveMessage = async (...args) => {
      await move(...args);
      throw new ScannerError('mailbox-unavailable', 'Connection reset');
    };

    await assert.rejects(handleScanMessage(jobFor(mailbox, id), first, deps), { code: 'mailbox-unavailable' });
    client.moveMessage = move;
    const outcome = await handleScanMessage(jobFor(mailbox, id), { deliveryCount: 2 }, deps);

    assert.equal(outcome, 'acted');
    assert.equal(store.puts, 1);
    const folderId = client.folderIdByName(mailbox, deps.settings.arrival.quarantineFolderName) ?? '';
    const moved = client.messagesIn(mailbox, folderId);
    assert.equal(moved.length, 1);
    const [record] = await verdictsOf(verdictTable, mailbox);
    assert.equal(record?.outcome, 'scanned');
    assert.equal(record?.messageId, moved[0]?.id);
  });

  it('records a message that is gone and does not retry', async () => {
    const { deps, verdictTable } = await createArrivalFixture();
    const mailbox = uniqueMailbox();

    assert.equal(await handleScanMessage(jobFor(mailbox, 'msg-missing'), first, deps), 'gone');

    const [record] = await verdictsOf(verdictTable, mailbox);
    assert.equal(record?.outcome, 'gone');
    assert.equal(record?.category, undefined);
    assert.equal(record?.action, 'none');
  });

  it('retries when throttled, then acts', async () => {
    const { deps, client } = await createArrivalFixture();
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });
    client.failNext({ method: 'getMessage', error: new ScannerError('mailbox-throttled', 'Too many requests') });

    await assert.rejects(handleScanMessage(jobFor(mailbox, id), first, deps), { code: 'mailbox-throttled' });
    assert.equal(await handleScanMessage(jobFor(mailbox, id), { deliveryCount: 2 }, deps), 'acted');
  });

  it('records the failure on the last try before dead-lettering', async () => {
    const { deps, client, verdictTable } = await createArrivalFixture({ MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT: '3' });
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });
    client.failNext({ method: 'getMessage', error: new ScannerError('mailbox-throttled', 'Too many requests') });

    await assert.rejects(handleScanMessage(jobFor(mailbox, id), { deliveryCount: 3 }, deps), {
      code: 'mailbox-throttled',
    });

    const [record] = await verdictsOf(verdictTable, mailbox);
    assert.equal(record?.outcome, 'failed');
    assert.equal(record?.errorCode, 'mailbox-throttled');
    assert.notEqual(record?.category, 'clean');
  });

  it('retries a truncated MIME download and never scans it', async () => {
    const { deps, client, verdictTable } = await createArrivalFixture({ MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT: '2' });
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, cleanSample.raw, { internetMessageId: '<clean@fabrikam.example>' });
    client.failNext({ method: 'getMime', truncateTo: 100 });
    client.failNext({ method: 'getMime', truncateTo: 100 });

    await assert.rejects(handleScanMessage(jobFor(mailbox, id), first, deps), { code: 'mailbox-unavailable' });
    assert.deepEqual(await verdictsOf(verdictTable, mailbox), []);
    await assert.rejects(handleScanMessage(jobFor(mailbox, id), { deliveryCount: 2 }, deps), {
      code: 'mailbox-unavailable',
    });

    const records = await verdictsOf(verdictTable, mailbox);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.outcome, 'failed');
    assert.equal(records[0]?.category, undefined);
    assert.ok(client.find(mailbox, id));
  });

  it('never records clean when the scanner fails', async () => {
    const failing: MessageScanner = {
      scan: () => Promise.reject(new Error('worker crashed')),
      close: () => Promise.resolve(),
    };
    const { deps, client, verdictTable } = await createArrivalFixture(
      { MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT: '2' },
      { scanner: failing },
    );
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, cleanSample.raw, { internetMessageId: '<clean@fabrikam.example>' });

    await assert.rejects(handleScanMessage(jobFor(mailbox, id), first, deps), { code: 'engine-failed' });
    await assert.rejects(handleScanMessage(jobFor(mailbox, id), { deliveryCount: 2 }, deps), {
      code: 'engine-failed',
    });

    const records = await verdictsOf(verdictTable, mailbox);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.outcome, 'failed');
    assert.equal(records[0]?.errorCode, 'engine-failed');
    assert.equal(records.some((record) => record.category === 'clean'), false);
  });

  it('returns the job to the queue while a chosen clamd is down', async () => {
    const env = {
      MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT: '2',
      MAILSWEEP_ENGINES_ANTIVIRUS: 'embedded,clamd',
      MAILSWEEP_CLAMD_HOST: '127.0.0.1',
      // Nothing listens on port 1 of the loopback address, so every connection is refused.
      MAILSWEEP_CLAMD_PORT: '1',
    };
    const settings = testSettings(env);
    const pipeline = createPipeline({
      limits: settings.limits,
      actions: settings.actions,
      engines: await createEngines(settings),
      logger: silentLogger,
    });
    const { deps, client, store, verdictTable } = await createArrivalFixture(env, {
      scanner: createInProcessScanner(pipeline),
    });
    const mailbox = uniqueMailbox();
    // A clean message: with malware found by the embedded engine, the verdict would stand.
    const id = client.deliver(mailbox, cleanSample.raw, { internetMessageId: '<clean@fabrikam.example>' });

    await assert.rejects(handleScanMessage(jobFor(mailbox, id), first, deps), { code: 'engine-failed' });
    assert.equal(store.puts, 0);
    assert.deepEqual(await verdictsOf(verdictTable, mailbox), []);
    assert.ok(client.find(mailbox, id), 'the message stays where it was');

    await assert.rejects(handleScanMessage(jobFor(mailbox, id), { deliveryCount: 2 }, deps), {
      code: 'engine-failed',
    });
    const records = await verdictsOf(verdictTable, mailbox);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.outcome, 'failed');
    assert.equal(records[0]?.errorCode, 'engine-failed');
  });

  it('applies the tag actions of a rule', async () => {
    const mailbox = uniqueMailbox();
    const ruleSet = await compileRuleSet(
      {
        rules: [
          {
            name: 'Mark this mailbox',
            conditions: [{ field: 'mailbox', operator: 'is', value: mailbox }],
            actions: [{ type: 'tag', category: 'Reviewed', flag: true }],
          },
        ],
      },
      { maxRules: 10 },
    );
    const settings = testSettings();
    const pipeline = createPipeline({
      limits: settings.limits,
      actions: settings.actions,
      engines: await createEngines(settings),
      logger: silentLogger,
      rules: createRuleHook({ current: () => ruleSet }),
    });
    const { deps, client } = await createArrivalFixture({}, { scanner: createInProcessScanner(pipeline) });
    const id = client.deliver(mailbox, cleanSample.raw, { internetMessageId: '<tagged@fabrikam.example>' });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'acted');
    const message = client.find(mailbox, id);
    assert.ok(message);
    // A tag rule raises the verdict's action to tag, which adds mailsweep's own category too.
    assert.deepEqual(message.categories, ['mailsweep: clean', 'Reviewed']);
    assert.equal(message.flagged, true);
  });

  it('records an oversized message as unscannable without acting', async () => {
    const { deps, client, store, verdictTable } = await createArrivalFixture({ MAILSWEEP_MAX_MESSAGE_BYTES: '1000' });
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, eicar.raw, { internetMessageId: EICAR_ID });

    assert.equal(await handleScanMessage(jobFor(mailbox, id), first, deps), 'acted');

    assert.ok(client.find(mailbox, id));
    assert.equal(store.puts, 0);
    const [record] = await verdictsOf(verdictTable, mailbox);
    assert.equal(record?.category, 'unscannable');
    assert.equal(record?.action, 'none');
    assert.equal(record?.errorCode, 'limit.message-bytes');
  });

  it('rejects an invalid job as permanent', async () => {
    const { deps } = await createArrivalFixture();

    await assert.rejects(handleScanMessage({ kind: 'scan-message', mailbox: '' }, first, deps), (error) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'input-unreadable');
      assert.equal(error.transient, false);
      return true;
    });
  });
});
