import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { EwsClient } from '../../src/ews/ews-client.js';
import { MailboxRouter } from '../../src/mailbox/mailbox-router.js';
import { ScannerError } from '../../src/shared/errors.js';
import type { EwsSimulator } from '../ews-simulator/ews-simulator.js';
import { clientFor, collect, sampleMime, startSimulator } from '../ews/ews-test-support.js';
import { startGraphFixture, type GraphFixture } from '../graph/graph-test-support.js';

describe('MailboxRouter with both simulators', () => {
  let graph: GraphFixture;
  let ewsSimulator: EwsSimulator;
  let ews: EwsClient;

  before(async () => {
    graph = await startGraphFixture();
    ewsSimulator = await startSimulator();
    ews = clientFor(ewsSimulator);
  });
  after(async () => {
    ews.close();
    await graph.close();
    await ewsSimulator.close();
  });

  function ewsRequests(mailbox: string): number {
    return ewsSimulator.requestLog.filter((entry) => entry.mailbox === mailbox).length;
  }

  it('sends cloud mailboxes to Graph', async () => {
    graph.sim.addMailbox('cloud@contoso.com');
    graph.sim.deliverMessage('cloud@contoso.com', { mime: sampleMime('cloud').toString() });
    const router = new MailboxRouter({ graph: graph.client, ews });
    const listed = await collect(router.listMessages('cloud@contoso.com'));
    assert.equal(listed.length, 1);
    assert.equal(router.routeOf('cloud@contoso.com'), 'graph');
    assert.equal(ewsRequests('cloud@contoso.com'), 0);
  });

  it('sends listed mailboxes and domains to EWS', async () => {
    ewsSimulator.addMailbox('listed@contoso.com');
    ewsSimulator.addMailbox('anyone@onprem.contoso.com');
    const item = ewsSimulator.deliverMessage('listed@contoso.com', { mime: sampleMime('listed') });
    const router = new MailboxRouter({
      graph: graph.client,
      ews,
      onPremMailboxes: ['Listed@Contoso.com'],
      onPremDomains: ['onprem.contoso.com'],
    });
    assert.equal(router.routeOf('listed@contoso.com'), 'ews');
    assert.equal(router.routeOf('anyone@onprem.contoso.com'), 'ews');
    assert.equal((await router.getMessage('listed@contoso.com', item.id)).id, item.id);
    const graphCalls = graph.sim.requestLog.filter((entry) =>
      entry.path.includes('listed@contoso.com'),
    );
    assert.equal(graphCalls.length, 0);
  });

  for (const kind of ['on-premises', 'on-premises-bare-404'] as const) {
    it(`retries a Graph ${kind} mailbox on EWS and remembers it`, async () => {
      const address = `${kind}@contoso.com`;
      graph.sim.addMailbox(address, kind);
      ewsSimulator.addMailbox(address);
      ewsSimulator.deliverMessage(address, { mime: sampleMime('onprem 1') });
      ewsSimulator.deliverMessage(address, { mime: sampleMime('onprem 2') });
      let now = 1_000_000;
      const router = new MailboxRouter({
        graph: graph.client,
        ews,
        cacheTtlMs: 60_000,
        now: () => now,
      });
      const listed = await collect(
        router.listMessages(address, { folder: { wellKnown: 'inbox' } }),
      );
      assert.equal(listed.length, 2);
      assert.equal(router.routeOf(address), 'ews');

      const graphBefore = graph.sim.requestLog.length;
      await router.syncFolder(address, { wellKnown: 'inbox' });
      assert.equal(graph.sim.requestLog.length, graphBefore, 'a remembered mailbox skips Graph');

      now += 60_001;
      assert.equal(router.routeOf(address), 'graph', 'the entry expires so a migration is noticed');
    });
  }

  it('reports an on-premises mailbox when EWS is not configured', async () => {
    graph.sim.addMailbox('orphan@contoso.com', 'on-premises');
    const router = new MailboxRouter({ graph: graph.client });
    await assert.rejects(router.getMessage('orphan@contoso.com', 'AAMkADx='), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'mailbox-on-premises');
      return true;
    });
  });

  it('prefixes subjects on EWS only', async () => {
    graph.sim.addMailbox('subject-cloud@contoso.com');
    const cloudItem = graph.sim.deliverMessage('subject-cloud@contoso.com', {
      mime: sampleMime('c').toString(),
    });
    ewsSimulator.addMailbox('subject-onprem@contoso.com');
    const onPremItem = ewsSimulator.deliverMessage('subject-onprem@contoso.com', {
      mime: sampleMime('Hello'),
    });
    const router = new MailboxRouter({
      graph: graph.client,
      ews,
      onPremMailboxes: ['subject-onprem@contoso.com'],
    });
    await router.prefixSubject('subject-onprem@contoso.com', onPremItem.id, '[SPAM] ');
    assert.equal(
      ewsSimulator.mailbox('subject-onprem@contoso.com').items.get(onPremItem.id)?.subject,
      '[SPAM] Hello',
    );
    await assert.rejects(
      router.prefixSubject('subject-cloud@contoso.com', cloudItem.id, '[SPAM] '),
      (error: unknown) => {
        assert.ok(error instanceof ScannerError);
        assert.equal(error.code, 'mailbox-request-failed');
        return true;
      },
    );
  });
});
