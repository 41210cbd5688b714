import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { buildSamples, GTUBE } from '../../src/samples/samples.js';
import { summarizeScan } from '../../src/scans/scan-summary.js';
import type { ScanItem, ScanStore } from '../../src/scans/scan-store.js';
import { startScan } from '../../src/scans/start-scan.js';
import { SERVICE_PASSWORD } from '../ews/ews-test-support.js';
import { createScanFixture, drain, ONPREM_DOMAIN, plainMessage, type ScanFixture } from './scan-test-support.js';

const samples = await buildSamples();
const eicar = samples.find((sample) => sample.expected.signature === 'Eicar-Test-Signature');
assert.ok(eicar);

const DAY_MS = 86_400_000;
let counter = 0;

/** Returns a receive time safely before the scan's end, which is the moment the scan starts. */
function recent(): Date {
  return new Date(Date.now() - 5000);
}

function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${counter}-${Math.random().toString(16).slice(2, 8)}`;
}

/** Fills a Graph mailbox with `count` clean messages, one GTUBE and one EICAR, a minute apart. */
function fillGraph(fixture: ScanFixture, mailbox: string, count: number): string[] {
  fixture.graph.sim.addMailbox(mailbox);
  const ids: string[] = [];
  const now = Date.now();
  for (let index = 0; index < count; index += 1) {
    const id = `${mailbox}-${index}`;
    ids.push(
      fixture.graph.sim.deliverMessage(mailbox, {
        mime: plainMessage(id, `Hello number ${index}.`),
        internetMessageId: `<${id}@fabrikam.example>`,
        receivedAt: new Date(now - (index + 1) * 60_000),
      }).id,
    );
  }
  return ids;
}

function fillEws(fixture: ScanFixture, mailbox: string, count: number): string[] {
  fixture.ews.addMailbox(mailbox);
  const ids: string[] = [];
  const now = Date.now();
  for (let index = 0; index < count; index += 1) {
    const id = `${mailbox}-${index}`;
    ids.push(
      fixture.ews.deliverMessage(mailbox, {
        mime: plainMessage(id, `Hello number ${index}.`),
        internetMessageId: `<${id}@fabrikam.example>`,
        receivedAt: new Date(now - (index + 1) * 60_000),
      }).id,
    );
  }
  return ids;
}

async function reportOf(fixture: ScanFixture, scanId: string): Promise<ScanItem[]> {
  const items: ScanItem[] = [];
  for await (const item of fixture.store.listItems(scanId)) {
    items.push(item);
  }
  return items;
}

async function begin(fixture: ScanFixture, body: Record<string, unknown>): Promise<string> {
  const result = await startScan(
    { window: { modifiedInLastDays: 7 }, ...body },
    { trigger: 'on-demand', createdBy: 'test' },
    fixture.start,
  );
  assert.ok(result.ok, JSON.stringify(result));
  return result.scan.scanId;
}

describe('mailbox scans', () => {
  let fixture: ScanFixture;

  before(async () => {
    fixture = await createScanFixture({ MAILSWEEP_SCAN_PAGE_SIZE: '7' });
  });

  after(async () => {
    await fixture.close();
  });

  it('fans out one job per mailbox and counts findings', async () => {
    const graphBox = `${uniqueName('g')}@contoso.com`;
    const ewsBox = `${uniqueName('e')}@${ONPREM_DOMAIN}`;
    fillGraph(fixture, graphBox, 10);
    fillEws(fixture, ewsBox, 12);
    fixture.graph.sim.deliverMessage(graphBox, { mime: plainMessage('spam', `Buy ${GTUBE}`), internetMessageId: '<spam@x>', receivedAt: recent() });
    fixture.ews.deliverMessage(ewsBox, { mime: eicar.raw, internetMessageId: '<eicar@x>', receivedAt: recent() });
    fixture.graph.sim.deliverMessage(graphBox, { mime: plainMessage('draft', 'd'), isDraft: true, receivedAt: recent() });

    const scanId = await begin(fixture, { scope: { mailboxes: [graphBox, ewsBox] } });
    assert.equal(fixture.queue.jobs.length, 2);
    const { results, thrown } = await drain(fixture);

    assert.deepEqual(thrown, []);
    assert.deepEqual(results.sort(), ['done', 'done']);
    const scan = await fixture.store.get(scanId);
    assert.ok(scan);
    const summary = summarizeScan(scan, await fixture.store.listProgress(scanId), new Date());
    assert.equal(summary.status, 'done');
    assert.equal(summary.mailboxes.done, 2);
    assert.equal(summary.messages.scanned, 24);
    assert.equal(summary.messages.errors, 0);
    assert.equal(summary.findings.spam, 1);
    assert.equal(summary.findings.malware, 1);
    assert.equal(summary.findings.clean, 22);
    assert.ok(summary.ratePerSecond > 0);
    // Report mode leaves the mailboxes alone.
    assert.equal(fixture.ews.mailbox(ewsBox).items.size, 13);
  });

  it('acts on findings in act mode', async () => {
    const graphBox = `${uniqueName('g')}@contoso.com`;
    fillGraph(fixture, graphBox, 3);
    const spam = fixture.graph.sim.deliverMessage(graphBox, { mime: plainMessage('spam2', `Buy ${GTUBE}`), internetMessageId: '<spam2@x>', receivedAt: recent() });
    const malware = fixture.graph.sim.deliverMessage(graphBox, { mime: eicar.raw, internetMessageId: '<eicar2@x>', receivedAt: recent() });

    const scanId = await begin(fixture, { scope: { mailboxes: [graphBox] }, mode: 'act' });
    await drain(fixture);

    const box = fixture.graph.sim.mailbox(graphBox);
    assert.equal(box.messages.has(spam.id), false);
    assert.equal(box.messages.has(malware.id), false);
    const junk = [...box.folders.values()].find((folder) => folder.wellKnownName === 'junkemail');
    assert.ok([...box.messages.values()].some((message) => message.folderId === junk?.id));
    const items = await reportOf(fixture, scanId);
    const malwareRow = items.find((item) => item.category === 'malware');
    assert.equal(malwareRow?.outcome, 'acted');
    assert.equal(malwareRow?.action, 'quarantine');
    assert.ok(malwareRow?.quarantineId);
    assert.equal(items.length, 5);
  });

  it('resumes after a kill with no misses or duplicates', async () => {
    const graphBox = `${uniqueName('g')}@contoso.com`;
    const ids = fillGraph(fixture, graphBox, 30);
    const scanId = await begin(fixture, { scope: { mailboxes: [graphBox] } });
    const [job] = fixture.queue.take();
    assert.ok(job);

    let finished = 0;
    const killAfter = async (): Promise<void> => {
      finished += 1;
      if (finished === 11) {
        throw new Error('worker killed');
      }
    };
    await assert.rejects(
      import('../../src/scans/mailbox-scan.js').then(({ handleScanMailbox }) =>
        handleScanMailbox(job, { deliveryCount: 1 }, { ...fixture.deps, logger: fixtureLogger, afterMessage: killAfter }),
      ),
      /worker killed/,
    );
    const partial = await reportOf(fixture, scanId);
    assert.ok(partial.length >= 11, `partial report has ${partial.length} rows`);
    assert.ok(partial.length < 30, `partial report has ${partial.length} rows`);

    fixture.queue.jobs.push(job);
    const { results } = await drain(fixture);
    assert.deepEqual(results, ['done']);

    const items = await reportOf(fixture, scanId);
    assert.equal(items.length, 30);
    for (const id of ids) {
      assert.equal(fixture.scanner.counts.get(id), 1, `message scanned ${fixture.scanner.counts.get(id) ?? 0} times`);
    }
  });

  it('stores report rows once per page', async () => {
    const graphBox = `${uniqueName('g')}@contoso.com`;
    const ids = fillGraph(fixture, graphBox, 30);
    const scanId = await begin(fixture, { scope: { mailboxes: [graphBox] } });

    // The second page's batch fails once, as a crash before the write would lose it.
    const batches: number[] = [];
    let singleWrites = 0;
    const store = Object.create(fixture.store) as ScanStore;
    store.writeItems = async (id, mailboxKey, rows) => {
      batches.push(rows.size);
      if (batches.length === 2) {
        throw new Error('Table storage unreachable');
      }
      return fixture.store.writeItems(id, mailboxKey, rows);
    };
    store.writeItem = async (...args) => {
      singleWrites += 1;
      return fixture.store.writeItem(...args);
    };
    const { results, thrown } = await drain(fixture, { store });

    assert.deepEqual(thrown, []);
    assert.deepEqual(results, ['done']);
    assert.equal(singleWrites, 0);
    assert.deepEqual(batches, [7, 7, 7, 7, 7, 2]);
    assert.equal((await reportOf(fixture, scanId)).length, 30);
    // Page size 7, newest first: only the page whose rows were lost is scanned again.
    ids.forEach((id, index) => {
      const expected = index >= 7 && index < 14 ? 2 : 1;
      assert.equal(fixture.scanner.counts.get(id), expected, `message ${index}`);
    });
  });

  it('acts once per message across a kill', async () => {
    const graphBox = `${uniqueName('g')}@contoso.com`;
    const ids = fillGraph(fixture, graphBox, 12);
    const spam = fixture.graph.sim.deliverMessage(graphBox, { mime: plainMessage('spam3', `Buy ${GTUBE}`), internetMessageId: '<spam3@x>', receivedAt: new Date(Date.now() - 90_000) });
    const malware = fixture.graph.sim.deliverMessage(graphBox, { mime: eicar.raw, internetMessageId: '<eicar3@x>', receivedAt: new Date(Date.now() - 150_000) });
    const scanId = await begin(fixture, { scope: { mailboxes: [graphBox] }, mode: 'act' });
    const [job] = fixture.queue.take();
    assert.ok(job);

    let finished = 0;
    const killAfter = async (): Promise<void> => {
      finished += 1;
      if (finished === 5) {
        throw new Error('worker killed');
      }
    };
    const { handleScanMailbox } = await import('../../src/scans/mailbox-scan.js');
    await assert.rejects(
      handleScanMailbox(job, { deliveryCount: 1 }, { ...fixture.deps, logger: fixtureLogger, afterMessage: killAfter }),
      /worker killed/,
    );
    fixture.queue.jobs.push(job);
    const { results } = await drain(fixture);
    assert.deepEqual(results, ['done']);

    const items = await reportOf(fixture, scanId);
    assert.equal(items.length, 14);
    for (const id of [...ids, spam.id, malware.id]) {
      assert.equal(fixture.scanner.counts.get(id), 1, `message scanned ${fixture.scanner.counts.get(id) ?? 0} times`);
    }
    const malwareRows = items.filter((item) => item.category === 'malware');
    assert.equal(malwareRows.length, 1);
    assert.equal(malwareRows[0]?.outcome, 'acted');
  });

  it('rebuilds the row of a message acted on just before a kill', async () => {
    const graphBox = `${uniqueName('g')}@contoso.com`;
    const ids = fillGraph(fixture, graphBox, 8);
    const malware = fixture.graph.sim.deliverMessage(graphBox, { mime: eicar.raw, internetMessageId: '<eicar4@x>', receivedAt: new Date(Date.now() - 5_000) });
    const scanId = await begin(fixture, { scope: { mailboxes: [graphBox] }, mode: 'act' });
    const [job] = fixture.queue.take();
    assert.ok(job);
    const killAfterMalware = async (item: ScanItem): Promise<void> => {
      if (item.category === 'malware') {
        throw new Error('worker killed');
      }
    };
    const { handleScanMailbox } = await import('../../src/scans/mailbox-scan.js');
    await assert.rejects(
      handleScanMailbox(job, { deliveryCount: 1 }, { ...fixture.deps, logger: fixtureLogger, afterMessage: killAfterMalware }),
      /worker killed/,
    );
    // The kill came after the malware was moved to the quarantine folder but before its row was
    // written: remove the row the first run wrote.
    const rows = fixture.scansTable.listEntities<{ category?: string }>();
    let removed = 0;
    for await (const row of rows) {
      if (row.partitionKey?.startsWith(`i-${scanId}`) === true && row.category === 'malware') {
        await fixture.scansTable.deleteEntity(row.partitionKey, row.rowKey ?? '');
        removed += 1;
      }
    }
    assert.equal(removed, 1);

    fixture.queue.jobs.push(job);
    const { results } = await drain(fixture);
    assert.deepEqual(results, ['done']);
    const items = await reportOf(fixture, scanId);
    assert.equal(items.length, 9);
    const malwareRows = items.filter((item) => item.category === 'malware');
    assert.equal(malwareRows.length, 1);
    assert.equal(malwareRows[0]?.outcome, 'acted');
    assert.ok(malwareRows[0]?.quarantineId);
    for (const id of [...ids, malware.id]) {
      assert.equal(fixture.scanner.counts.get(id), 1, `message scanned ${fixture.scanner.counts.get(id) ?? 0} times`);
    }
  });

  it('checkpoints and re-sends itself when the budget runs out', async () => {
    const ewsBox = `${uniqueName('e')}@${ONPREM_DOMAIN}`;
    const ids = fillEws(fixture, ewsBox, 20);
    const scanId = await begin(fixture, { scope: { mailboxes: [ewsBox] } });

    // Each clock read moves a second on, so a 3-second budget ends the job after a page or so.
    let clock = Date.now();
    const { results } = await drain(fixture, {
      settings: { ...fixture.settings, scans: { ...fixture.settings.scans, jobBudgetMs: 3000 } },
      now: () => (clock += 1000),
    });

    assert.ok(results.filter((result) => result === 'yielded').length >= 2);
    assert.equal(results.at(-1), 'done');
    const [row] = await fixture.store.listProgress(scanId);
    assert.ok((row?.progress.segments ?? 0) >= 2);
    assert.equal((await reportOf(fixture, scanId)).length, 20);
    for (const id of ids) {
      assert.equal(fixture.scanner.counts.get(id), 1);
    }
  });

  it('stops the jobs of a cancelled scan', async () => {
    const graphBox = `${uniqueName('g')}@contoso.com`;
    fillGraph(fixture, graphBox, 5);
    const scanId = await begin(fixture, { scope: { mailboxes: [graphBox] } });
    await fixture.store.cancel(scanId);

    const { results } = await drain(fixture);

    assert.deepEqual(results, ['cancelled']);
    const scan = await fixture.store.get(scanId);
    assert.ok(scan);
    const summary = summarizeScan(scan, await fixture.store.listProgress(scanId), new Date());
    assert.equal(summary.status, 'cancelled');
    assert.equal(summary.messages.scanned, 0);
  });

  it('rescans only changes in incremental mode', async () => {
    const ewsBox = `${uniqueName('e')}@${ONPREM_DOMAIN}`;
    fillEws(fixture, ewsBox, 6);
    const body = { scope: { mailboxes: [ewsBox] }, folders: ['inbox'], incremental: true };
    const first = await begin(fixture, body);
    await drain(fixture);
    assert.equal((await reportOf(fixture, first)).length, 6);

    fixture.ews.deliverMessage(ewsBox, { mime: plainMessage('late-1', 'new'), internetMessageId: '<late-1@x>', receivedAt: recent() });
    fixture.ews.deliverMessage(ewsBox, { mime: plainMessage('late-2', 'new'), internetMessageId: '<late-2@x>', receivedAt: recent() });
    const second = await begin(fixture, body);
    await drain(fixture);

    const items = await reportOf(fixture, second);
    assert.equal(items.length, 2);
  });

  it('skips what arrival finished unless retro', async () => {
    const graphBox = `${uniqueName('g')}@contoso.com`;
    fillGraph(fixture, graphBox, 2);
    const first = await begin(fixture, { scope: { mailboxes: [graphBox] }, mode: 'act' });
    await drain(fixture);
    assert.equal((await reportOf(fixture, first)).length, 2);

    // Scan on arrival's own locks mark both messages done; a plain scan skips them.
    const { arrival } = fixture.deps;
    for (const message of fixture.graph.sim.mailbox(graphBox).messages.values()) {
      const { toMailboxKey, toLockKey } = await import('../../src/arrival/table-keys.js');
      const claim = await arrival.locks.claim(toMailboxKey(graphBox), toLockKey({ internetMessageId: message.internetMessageId }), {
        messageId: message.id,
      });
      assert.equal(claim.kind, 'claimed');
      if (claim.kind === 'claimed') {
        await arrival.locks.update(claim.lock, { state: 'done', category: 'clean', action: 'none' });
      }
    }
    const plain = await begin(fixture, { scope: { mailboxes: [graphBox] } });
    await drain(fixture);
    assert.deepEqual((await reportOf(fixture, plain)).map((item) => item.outcome), ['skipped', 'skipped']);

    const retro = await begin(fixture, { scope: { mailboxes: [graphBox] }, retro: true });
    await drain(fixture);
    assert.deepEqual((await reportOf(fixture, retro)).map((item) => item.outcome), ['scanned', 'scanned']);
  });

  it('reports each bad mailbox and scans the rest', async () => {
    const good = `${uniqueName('g')}@contoso.com`;
    fillGraph(fixture, good, 3);
    const unknown = `${uniqueName('nobody')}@contoso.com`;
    const denied = `${uniqueName('denied')}@${ONPREM_DOMAIN}`;
    fillEws(fixture, denied, 2);
    const html = `${uniqueName('html')}@${ONPREM_DOMAIN}`;
    fillEws(fixture, html, 2);
    fixture.ews.addAccount({ user: 'svc-limited', password: SERVICE_PASSWORD, impersonate: [] });

    const scanId = await begin(fixture, { scope: { mailboxes: [good, unknown, denied] } });
    const limited = await import('../ews/ews-test-support.js');
    const limitedClient = limited.clientFor(fixture.ews, {
      auth: { kind: 'basic', username: 'svc-limited', password: SERVICE_PASSWORD },
    });
    const { MailboxRouter } = await import('../../src/mailbox/mailbox-router.js');
    const router = new MailboxRouter({
      graph: fixture.graph.client,
      ews: limitedClient,
      onPremDomains: [ONPREM_DOMAIN],
    });
    await drain(fixture, { client: router, arrival: { ...fixture.deps.arrival, client: router } });
    limitedClient.close();

    const htmlScan = await begin(fixture, { scope: { mailboxes: [html] } });
    fixture.ews.faults.htmlRate = 1;
    try {
      await drain(fixture);
    } finally {
      fixture.ews.faults.htmlRate = 0;
    }

    const scan = await fixture.store.get(scanId);
    assert.ok(scan);
    const summary = summarizeScan(scan, await fixture.store.listProgress(scanId), new Date());
    assert.equal(summary.mailboxes.done, 1);
    assert.equal(summary.mailboxes.failed, 2);
    assert.equal(summary.messages.scanned, 3);
    const codes = Object.fromEntries(summary.errors.map((error) => [error.mailbox, error.code]));
    assert.equal(codes[unknown], 'mailbox-not-found');
    assert.equal(codes[denied], 'access-denied');

    const htmlRecord = await fixture.store.get(htmlScan);
    assert.ok(htmlRecord);
    const htmlSummary = summarizeScan(htmlRecord, await fixture.store.listProgress(htmlScan), new Date());
    assert.equal(htmlSummary.errors[0]?.code, 'ews-not-soap');
  });

  it('reports Graph 403 and truncated SOAP', async () => {
    const forbidden = `${uniqueName('forbidden')}@contoso.com`;
    fillGraph(fixture, forbidden, 2);
    fixture.graph.sim.addFault({ mailbox: forbidden, status: 403, code: 'ErrorAccessDenied', times: 100 });
    const truncated = `${uniqueName('cut')}@${ONPREM_DOMAIN}`;
    fillEws(fixture, truncated, 2);
    const good = `${uniqueName('fine')}@contoso.com`;
    fillGraph(fixture, good, 2);

    const scanId = await begin(fixture, { scope: { mailboxes: [forbidden, good] } });
    await drain(fixture);
    const cutScan = await begin(fixture, { scope: { mailboxes: [truncated] } });
    fixture.ews.faults.truncatedRate = 1;
    try {
      await drain(fixture);
    } finally {
      fixture.ews.faults.truncatedRate = 0;
    }

    const scan = await fixture.store.get(scanId);
    assert.ok(scan);
    const summary = summarizeScan(scan, await fixture.store.listProgress(scanId), new Date());
    assert.equal(summary.mailboxes.done, 1);
    assert.equal(summary.messages.scanned, 2);
    assert.deepEqual(summary.errors.map((error) => [error.mailbox, error.code]), [[forbidden, 'access-denied']]);
    const cutRecord = await fixture.store.get(cutScan);
    assert.ok(cutRecord);
    const cutSummary = summarizeScan(cutRecord, await fixture.store.listProgress(cutScan), new Date());
    assert.equal(cutSummary.errors[0]?.code, 'ews-invalid-soap');
  });

  it('rejects a scope of zero mailboxes', async () => {
    const result = await startScan(
      { scope: { all: true }, window: { modifiedInLastDays: 1 } },
      { trigger: 'on-demand', createdBy: 'test' },
      { ...fixture.start, listMonitoredMailboxes: async () => [] },
    );
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.field, 'scope');
  });

  it('covers only the window', async () => {
    const graphBox = `${uniqueName('g')}@contoso.com`;
    fixture.graph.sim.addMailbox(graphBox);
    const now = Date.now();
    for (const [index, age] of [1, 3, 10, 40].entries()) {
      fixture.graph.sim.deliverMessage(graphBox, {
        mime: plainMessage(`${graphBox}-w${index}`, 'x'),
        internetMessageId: `<${graphBox}-w${index}@x>`,
        receivedAt: new Date(now - age * DAY_MS),
      });
    }
    const scanId = await begin(fixture, {
      scope: { mailboxes: [graphBox] },
      window: { since: new Date(now - 14 * DAY_MS).toISOString(), until: new Date(now - 2 * DAY_MS).toISOString() },
    });
    await drain(fixture);
    assert.equal((await reportOf(fixture, scanId)).length, 2);
  });
});

const fixtureLogger = (await import('../../src/shared/logger.js')).silentLogger;
