import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';

import type { TableClient } from '@azure/data-tables';

import { runDigests, type DigestRunOptions } from '../../src/digests/digest-run.js';
import { DigestState } from '../../src/digests/digest-state.js';
import { emlFolderTransport, graphTransport, type DigestTransport } from '../../src/digests/digest-transport.js';
import { SendLimiter } from '../../src/digests/send-limiter.js';
import { QuarantineIndex } from '../../src/quarantine/quarantine-index.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startGraphFixture, type GraphFixture } from '../graph/graph-test-support.js';
import { openUniqueTable } from '../quarantine/quarantine-test-support.js';
import { fakeMetadata, seedIndex } from '../webui/index-seeding.js';

const SENDER = 'mailsweep-digest@contoso.com';
const UI = 'https://mailsweep.contoso.com';

interface SentBody {
  message: { subject: string; body: { contentType: string; content: string }; toRecipients: { emailAddress: { address: string } }[] };
}

describe('runDigests', () => {
  let graph: GraphFixture;
  let indexTable: TableClient;
  let state: DigestState;
  let clock: number;

  before(async () => {
    graph = await startGraphFixture();
    graph.sim.addMailbox(SENDER);
  });
  after(async () => {
    await graph.close();
  });
  beforeEach(async () => {
    indexTable = await openUniqueTable('dindex');
    state = new DigestState(await openUniqueTable('dstate'));
    graph.sim.sentMail.length = 0;
    clock = Date.now();
  });

  function options(overrides: Partial<DigestRunOptions> = {}): DigestRunOptions {
    return {
      indexTable,
      state,
      transport: graphTransport(graph.client, SENDER),
      limiter: new SendLimiter({ now: () => clock, wait: async (ms) => void (clock += ms) }),
      senderAddress: SENDER,
      uiBaseUrl: UI,
      adminRecipients: [],
      now: () => new Date(clock),
      deadline: Number.POSITIVE_INFINITY,
      minIntervalMs: 0,
      logger: silentLogger,
      ...overrides,
    };
  }

  const sent = () => graph.sim.sentMail.map((mail) => mail.body as SentBody);
  const recipientsOf = (body: SentBody) => body.message.toRecipients.map((r) => r.emailAddress.address);
  const recent = (minutesAgo: number) => Date.now() - minutesAgo * 60_000;

  it('sends each recipient one digest through sendMail', async () => {
    await seedIndex(indexTable, [
      fakeMetadata('adele@contoso.com', 'spam', 0, recent(30)),
      fakeMetadata('adele@contoso.com', 'phishing', 1, recent(30)),
      fakeMetadata('alex@contoso.com', 'malware', 2, recent(30)),
    ]);
    const result = await runDigests(options());
    assert.equal(result.digestsSent, 2);
    const bodies = sent();
    assert.deepEqual(bodies.map(recipientsOf).sort(), [['adele@contoso.com'], ['alex@contoso.com']]);
    const adele = bodies.find((body) => recipientsOf(body)[0] === 'adele@contoso.com');
    assert.match(adele?.message.subject ?? '', /2 new messages/);
    assert.equal(adele?.message.body.contentType, 'HTML');
    assert.match(adele?.message.body.content ?? '', /href="https:\/\/mailsweep\.contoso\.com\/api\/ui\/\?item=[0-9a-f]{32}"/);
    assert.ok(graph.sim.sentMail.every((mail) => mail.mailboxId === graph.sim.mailbox(SENDER).id));
  });

  it('sends nothing when nothing is new', async () => {
    await seedIndex(indexTable, [fakeMetadata('adele@contoso.com', 'spam', 0, recent(30))]);
    await runDigests(options());
    graph.sim.sentMail.length = 0;
    clock += 60_000;
    const result = await runDigests(options());
    assert.equal(result.digestsSent, 0);
    assert.equal(graph.sim.sentMail.length, 0);
  });

  it('lists only items newer than the last digest', async () => {
    await seedIndex(indexTable, [
      fakeMetadata('adele@contoso.com', 'spam', 0, recent(30)),
      fakeMetadata('alex@contoso.com', 'spam', 1, recent(30)),
    ]);
    await runDigests(options());
    graph.sim.sentMail.length = 0;
    const newer = fakeMetadata('adele@contoso.com', 'malware', 0, clock + 60_000);
    newer.subject = 'Newer item';
    await seedIndex(indexTable, [newer]);
    clock += 120_000;
    const result = await runDigests(options());
    assert.equal(result.digestsSent, 1);
    const [body] = sent();
    assert.deepEqual(recipientsOf(body!), ['adele@contoso.com']);
    assert.match(body!.message.subject, /1 new message held/);
    assert.match(body!.message.body.content, /Newer item/);
  });

  it('waits out the interval between digests', async () => {
    await seedIndex(indexTable, [fakeMetadata('adele@contoso.com', 'spam', 0, recent(30))]);
    await runDigests(options({ minIntervalMs: 3_600_000 }));
    graph.sim.sentMail.length = 0;
    await seedIndex(indexTable, [fakeMetadata('adele@contoso.com', 'spam', 1, clock + 60_000)]);
    clock += 120_000;
    const early = await runDigests(options({ minIntervalMs: 3_600_000 }));
    assert.equal(early.deferred, 1);
    assert.equal(graph.sim.sentMail.length, 0);
    clock += 3_600_000;
    const later = await runDigests(options({ minIntervalMs: 3_600_000 }));
    assert.equal(later.digestsSent, 1);
    assert.match(sent()[0]!.message.subject, /1 new message held/);
  });

  it('leaves released items out', async () => {
    const item = fakeMetadata('adele@contoso.com', 'spam', 0, recent(30));
    await seedIndex(indexTable, [item]);
    const index = new QuarantineIndex(indexTable);
    const row = await index.findRow(item);
    await index.markReleased({ rowKey: row!.rowKey, addressPartitions: row!.addressPartitions }, new Date());
    const result = await runDigests(options());
    assert.equal(result.recipients, 0);
    assert.equal(graph.sim.sentMail.length, 0);
  });

  it('lists 50 items and counts the rest', async () => {
    const items = Array.from({ length: 55 }, (_, i) => fakeMetadata('adele@contoso.com', 'spam', i, recent(60)));
    await seedIndex(indexTable, items);
    const result = await runDigests(options());
    assert.equal(result.itemsListed, 50);
    const [body] = sent();
    assert.match(body!.message.body.content, /5 more messages are not listed/);
    assert.equal(body!.message.body.content.match(/\?item=/g)?.length, 50);
  });

  it('sends the administrators a summary', async () => {
    await seedIndex(indexTable, [
      fakeMetadata('adele@contoso.com', 'spam', 0, recent(30)),
      fakeMetadata('alex@contoso.com', 'malware', 1, recent(30)),
    ]);
    const result = await runDigests(options({ adminRecipients: ['admin@contoso.com', 'sec@contoso.com'] }));
    assert.equal(result.adminSummarySent, true);
    const summary = sent().find((body) => recipientsOf(body).includes('admin@contoso.com'));
    assert.deepEqual(recipientsOf(summary!), ['admin@contoso.com', 'sec@contoso.com']);
    assert.match(summary!.message.subject, /2 new messages in 2 mailboxes/);
  });

  it('stops at the daily limit and resumes next run', async () => {
    const items = ['a', 'b', 'c'].map((name, i) => fakeMetadata(`${name}@contoso.com`, 'spam', i, recent(30)));
    await seedIndex(indexTable, items);
    const first = await runDigests(
      options({ limiter: new SendLimiter({ recipientsPerDay: 2, now: () => clock, wait: async (ms) => void (clock += ms) }) }),
    );
    assert.equal(first.digestsSent, 2);
    assert.equal(first.stoppedBy, 'daily-limit');
    assert.ok(((await state.readCursor())?.getTime() ?? 0) < Date.parse(items[2]!.quarantinedAt));
    assert.equal(await state.readRecipientsSent(SENDER, new Date(clock)), 2);

    graph.sim.sentMail.length = 0;
    const second = await runDigests(options());
    assert.equal(second.digestsSent, 1);
    assert.deepEqual(sent().map(recipientsOf), [['c@contoso.com']]);
    assert.equal((await state.readCursor())?.getTime(), clock - 1);
  });

  it('retries a failed recipient next run', async () => {
    await seedIndex(indexTable, [
      fakeMetadata('adele@contoso.com', 'spam', 0, recent(30)),
      fakeMetadata('alex@contoso.com', 'spam', 1, recent(30)),
    ]);
    const real = graphTransport(graph.client, SENDER);
    const failing: DigestTransport = {
      kind: 'graph',
      send: async (mail) => {
        if (mail.to.includes('alex@contoso.com')) throw new Error('simulated send failure');
        await real.send(mail);
      },
    };
    const first = await runDigests(options({ transport: failing }));
    assert.equal(first.failed, 1);
    graph.sim.sentMail.length = 0;
    const second = await runDigests(options());
    assert.deepEqual(sent().map(recipientsOf), [['alex@contoso.com']]);
    assert.equal(second.failed, 0);
  });

  it('writes .eml files without a sender', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'digests-'));
    await seedIndex(indexTable, [fakeMetadata('adele@contoso.com', 'spam', 0, recent(30))]);
    await runDigests(options({ transport: emlFolderTransport(folder, 'mailsweep@localhost.invalid') }));
    const files = await readdir(folder);
    assert.equal(files.length, 1);
    assert.match(files[0] ?? '', /^[0-9TZ-]+-[0-9a-f]{12}\.eml$/);
    const raw = await readFile(join(folder, files[0] ?? ''), 'utf8');
    assert.match(raw, /^To: adele@contoso\.com\r$/m);
    assert.match(raw, /multipart\/alternative/);
    assert.equal(graph.sim.sentMail.length, 0);
  });
});
