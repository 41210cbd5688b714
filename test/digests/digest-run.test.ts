import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';

import type { TableClient } from '@azure/data-tables';
import PostalMime, { type Email } from 'postal-mime';

import { runDigests, type DigestRunOptions } from '../../src/digests/digest-run.js';
import { DigestState } from '../../src/digests/digest-state.js';
import { emlFolderTransport, graphTransport, type DigestTransport } from '../../src/digests/digest-transport.js';
import { SendLimiter } from '../../src/digests/send-limiter.js';
import { QuarantineIndex } from '../../src/quarantine/quarantine-index.js';
import type { MimeMailSender } from '../../src/graph/subscription-client.js';
import { silentLogger, type LogFields } from '../../src/shared/logger.js';
import { startGraphFixture, type GraphFixture } from '../graph/graph-test-support.js';
import { openUniqueTable } from '../quarantine/quarantine-test-support.js';
import { fakeMetadata, seedIndex } from '../webui/index-seeding.js';

const SENDER = 'mailsweep-digest@contoso.com';
const UI = 'https://mailsweep.contoso.com';

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

  /** Parses the MIME of every digest the simulator received, in order. */
  const sent = async (): Promise<Email[]> =>
    Promise.all(
      graph.sim.sentMail.map((mail) => {
        assert.equal(mail.format, 'mime');
        assert.ok(mail.mime);
        return PostalMime.parse(mail.mime);
      }),
    );
  const recipientsOf = (email: Email) => (email.to ?? []).map((entry) => entry.address);
  const recent = (minutesAgo: number) => Date.now() - minutesAgo * 60_000;

  it('sends each recipient one digest through sendMail', async () => {
    await seedIndex(indexTable, [
      fakeMetadata('adele@contoso.com', 'spam', 0, recent(30)),
      fakeMetadata('adele@contoso.com', 'phishing', 1, recent(30)),
      fakeMetadata('alex@contoso.com', 'malware', 2, recent(30)),
    ]);
    const result = await runDigests(options());
    assert.equal(result.digestsSent, 2);
    const emails = await sent();
    assert.deepEqual(emails.map(recipientsOf).sort(), [['adele@contoso.com'], ['alex@contoso.com']]);
    const adele = emails.find((email) => recipientsOf(email)[0] === 'adele@contoso.com');
    assert.match(adele?.subject ?? '', /2 new messages/);
    assert.equal(adele?.from?.address, SENDER);
    assert.match(adele?.html ?? '', /href="https:\/\/mailsweep\.contoso\.com\/api\/ui\/\?item=[0-9a-f]{32}"/);
    assert.match(adele?.text ?? '', /Review: https:\/\/mailsweep\.contoso\.com\/api\/ui\/\?item=[0-9a-f]{32}/);
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
    const [email] = await sent();
    assert.deepEqual(recipientsOf(email!), ['adele@contoso.com']);
    assert.match(email!.subject ?? '', /1 new message held/);
    assert.match(email!.html ?? '', /Newer item/);
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
    assert.match((await sent())[0]!.subject ?? '', /1 new message held/);
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
    const [email] = await sent();
    assert.match(email!.html ?? '', /5 more messages are not listed/);
    assert.equal(email!.html?.match(/\?item=/g)?.length, 50);
    assert.match(email!.text ?? '', /5 more messages are not listed/);
    assert.equal(email!.text?.match(/\?item=/g)?.length, 50);
  });

  it('sends the administrators a summary', async () => {
    await seedIndex(indexTable, [
      fakeMetadata('adele@contoso.com', 'spam', 0, recent(30)),
      fakeMetadata('alex@contoso.com', 'malware', 1, recent(30)),
    ]);
    const result = await runDigests(options({ adminRecipients: ['admin@contoso.com', 'sec@contoso.com'] }));
    assert.equal(result.adminSummarySent, true);
    const summary = (await sent()).find((email) => recipientsOf(email).includes('admin@contoso.com'));
    assert.deepEqual(recipientsOf(summary!), ['admin@contoso.com', 'sec@contoso.com']);
    assert.match(summary!.subject ?? '', /2 new messages in 2 mailboxes/);
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
    assert.deepEqual((await sent()).map(recipientsOf), [['c@contoso.com']]);
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
    assert.deepEqual((await sent()).map(recipientsOf), [['alex@contoso.com']]);
    assert.equal(second.failed, 0);
  });

  it('carries every item field in both parts', async () => {
    const items = [
      fakeMetadata('adele@contoso.com', 'spam', 0, recent(40)),
      fakeMetadata('adele@contoso.com', 'phishing', 1, recent(40)),
      fakeMetadata('adele@contoso.com', 'malware', 2, recent(40)),
    ];
    items.forEach((item, i) => {
      item.sender = `sender${i}@fabrikam.com`;
      item.subject = `Invoice number ${i}`;
    });
    await seedIndex(indexTable, items);
    await runDigests(options());

    const [email] = await sent();
    assert.ok(email);
    assert.equal(email.headers.find((header) => header.key === 'auto-submitted')?.value, 'auto-generated');
    const parts = { text: email.text ?? '', html: email.html ?? '' };
    for (const item of items) {
      const date = `${item.receivedAt?.slice(0, 16).replace('T', ' ')} UTC`;
      const link = `${UI}/api/ui/?item=${item.id}`;
      for (const [name, part] of Object.entries(parts)) {
        assert.ok(part.includes(item.sender ?? ''), `${name} part lists the sender`);
        assert.ok(part.includes(item.subject ?? ''), `${name} part lists the subject`);
        assert.ok(part.includes(date), `${name} part lists the date ${date}`);
        assert.ok(part.includes(item.verdict.category), `${name} part lists the category`);
        assert.ok(part.includes(link), `${name} part links the item`);
      }
    }

    const links = [...`${parts.text}\n${parts.html}`.matchAll(/https?:\/\/[^\s"<>]+/g)].map((m) => new URL(m[0]));
    assert.ok(links.length >= items.length * 2);
    for (const link of links) {
      assert.equal(link.origin, UI, 'links go to the web interface only');
      assert.equal(link.username, '', 'no user name in a link');
      assert.equal(link.password, '', 'no password in a link');
      assert.deepEqual([...link.searchParams.keys()].filter((key) => key !== 'item'), [], 'no query but item');
      assert.equal(link.hash, '', 'no fragment in a link');
    }
  });

  it('escapes hostile subjects and senders in HTML', async () => {
    const item = fakeMetadata('adele@contoso.com', 'phishing', 0, recent(30));
    item.subject = '<script>alert(1)</script> & "quoted"';
    // The index stores senders in lower case.
    item.sender = '"eve" <eve@fabrikam.com><img src=x onerror=alert(2)>';
    await seedIndex(indexTable, [item]);
    await runDigests(options());
    const [email] = await sent();
    const html = email?.html ?? '';
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<img/i);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;quoted&quot;/);
    assert.match(html, /&quot;eve&quot; &lt;eve@fabrikam\.com&gt;&lt;img src=x onerror=alert\(2\)&gt;/);
    assert.ok(email?.text?.includes('Subject: <script>alert(1)</script> & "quoted"'));
  });

  it('round-trips non-ASCII subjects and senders', async () => {
    const item = fakeMetadata('adele@contoso.com', 'spam', 0, recent(30));
    item.subject = 'Grüße – Rechnung 請求書 \u{1F4E7}';
    item.sender = 'josé müller <jose@fabrikam.com>';
    await seedIndex(indexTable, [item]);
    await runDigests(options());
    const [email] = await sent();
    for (const part of [email?.text ?? '', email?.html ?? '']) {
      assert.ok(part.includes('Grüße – Rechnung 請求書 \u{1F4E7}'));
      assert.ok(part.includes('josé müller'));
    }
  });

  it('reports MIME that Graph rejects per digest', async () => {
    await seedIndex(indexTable, [
      fakeMetadata('adele@contoso.com', 'spam', 0, recent(30)),
      fakeMetadata('alex@contoso.com', 'spam', 1, recent(30)),
    ]);
    // Bytes without a header block are malformed MIME, so the simulator responds 400 as Graph does.
    const corrupting: MimeMailSender = {
      sendMimeMail: async (from, mime) =>
        graph.client.sendMimeMail(
          from,
          mime.toString('latin1').includes('alex@contoso.com') ? Buffer.from('not a message') : mime,
        ),
    };
    const logStart = graph.sim.requestLog.length;
    const warnings: LogFields[] = [];
    const logger = { ...silentLogger, warn: (_message: string, fields?: LogFields) => void warnings.push(fields ?? {}) };
    const result = await runDigests(options({ transport: graphTransport(corrupting, SENDER), logger }));
    assert.equal(result.failed, 1);
    assert.equal(result.digestsSent, 1);
    assert.deepEqual((await sent()).map(recipientsOf), [['adele@contoso.com']]);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.code, 'mailbox-request-failed');
    assert.equal(warnings[0]?.status, 400);
    assert.equal(warnings[0]?.graphCode, 'ErrorMimeContentInvalid');
    assert.equal(warnings[0]?.operation, 'send-mime-mail');
    const failedTries = graph.sim.requestLog
      .slice(logStart)
      .filter((entry) => entry.path.endsWith('/sendMail') && entry.status === 400);
    assert.equal(failedTries.length, 1, 'a 400 is not retried');
  });

  it('retries a throttled digest', async () => {
    await seedIndex(indexTable, [fakeMetadata('adele@contoso.com', 'spam', 0, recent(30))]);
    const logStart = graph.sim.requestLog.length;
    graph.sim.addFault({
      mailbox: SENDER,
      pathIncludes: '/sendMail',
      status: 429,
      code: 'ApplicationThrottled',
      retryAfter: '0',
      times: 2,
    });
    const result = await runDigests(options());
    assert.equal(result.digestsSent, 1);
    assert.equal(result.failed, 0);
    const statuses = graph.sim.requestLog
      .slice(logStart)
      .filter((entry) => entry.path.endsWith('/sendMail'))
      .map((entry) => entry.status);
    assert.deepEqual(statuses, [429, 429, 202]);
    assert.deepEqual((await sent()).map(recipientsOf), [['adele@contoso.com']]);
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
    assert.match(raw, /^From: mailsweep <mailsweep@localhost\.invalid>\r$/m);
    assert.match(raw, /multipart\/alternative/);
    const email = await PostalMime.parse(raw);
    assert.match(email.text ?? '', /Review: https:\/\/mailsweep\.contoso\.com\/api\/ui\/\?item=/);
    assert.match(email.html ?? '', /href="https:\/\/mailsweep\.contoso\.com\/api\/ui\/\?item=/);
    assert.equal(graph.sim.sentMail.length, 0);
  });
});
