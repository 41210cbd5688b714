import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { EwsClient } from '../../src/ews/ews-client.js';
import type { EwsSimulator } from '../ews-simulator/ews-simulator.js';
import { clientFor, startSimulator } from '../ews/ews-test-support.js';
import { startGraphFixture, type GraphFixture } from '../graph/graph-test-support.js';

describe('listFolders over Graph', () => {
  let graph: GraphFixture;

  before(async () => {
    graph = await startGraphFixture();
  });

  after(async () => {
    await graph.close();
  });

  it('lists every level and leaves hidden folders out', async () => {
    graph.sim.addMailbox('folders@contoso.com');
    const projects = graph.sim.createFolder('folders@contoso.com', 'Projects', 'inbox');
    graph.sim.createFolder('folders@contoso.com', 'Alpha', projects.id);
    await graph.client.ensureHiddenFolder('folders@contoso.com', 'mailsweep quarantine');

    const listing = await graph.client.listFolders('folders@contoso.com');

    const paths = listing.folders.map((folder) => folder.path).sort();
    assert.ok(paths.includes('Inbox'));
    assert.ok(paths.includes('Inbox/Projects'));
    assert.ok(paths.includes('Inbox/Projects/Alpha'));
    assert.equal(paths.includes('mailsweep quarantine'), false);
    assert.equal(paths.some((path) => path.startsWith('Recoverable Items')), false);
    assert.deepEqual(listing.unreachable, []);
  });

  it('adds Recoverable Items and reports the archive unreachable', async () => {
    graph.sim.addMailbox('dumpster@contoso.com');

    const listing = await graph.client.listFolders('dumpster@contoso.com', {
      includeArchive: true,
      includeRecoverableItems: true,
    });

    const recoverable = listing.folders.filter((folder) => folder.kind === 'recoverable-items');
    assert.equal(recoverable.length, 1);
    assert.equal(recoverable[0]?.wellKnownName, 'recoverableitemsdeletions');
    assert.deepEqual(listing.unreachable, ['archive']);
  });
});

describe('listFolders over EWS', () => {
  let ews: EwsSimulator;
  let client: EwsClient;

  before(async () => {
    ews = await startSimulator();
    client = clientFor(ews);
  });

  after(async () => {
    client.close();
    await ews.close();
  });

  it('lists mail folders with paths and leaves the calendar out', async () => {
    ews.addMailbox('folders@onprem.contoso.com');

    const listing = await client.listFolders('folders@onprem.contoso.com');

    const paths = listing.folders.map((folder) => folder.path);
    assert.ok(paths.includes('Inbox'));
    assert.ok(paths.includes('Junk Email'));
    assert.equal(paths.includes('Calendar'), false);
    assert.ok(listing.folders.every((folder) => folder.kind === 'mail'));
  });

  it('adds the archive and Recoverable Items when asked', async () => {
    ews.addMailbox('archive@onprem.contoso.com');

    const listing = await client.listFolders('archive@onprem.contoso.com', {
      includeArchive: true,
      includeRecoverableItems: true,
    });

    const archive = listing.folders.filter((folder) => folder.kind === 'archive');
    assert.deepEqual(archive.map((folder) => folder.path), ['Archive/Inbox']);
    const recoverable = listing.folders.filter((folder) => folder.kind === 'recoverable-items');
    assert.deepEqual(recoverable.map((folder) => folder.path), ['Recoverable Items/Deletions']);
    assert.deepEqual(listing.unreachable, []);
  });
});
