import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { ownAddresses, withOwnAddresses, type RequestLog } from '../../src/auth/own-addresses.js';
import type { Principal } from '../../src/auth/principal.js';
import { provideUserAddressDirectory, wiredUserAddressDirectory } from '../../src/auth/user-address-provider.js';
import { CachedUserAddressDirectory, MAX_USER_ADDRESSES } from '../../src/auth/user-addresses.js';
import { ScannerError } from '../../src/shared/errors.js';
import { startGraphFixture, type GraphFixture } from '../graph/graph-test-support.js';

interface LogLine {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

function recordingLog(): { log: RequestLog; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { lines, log: (level, message, fields) => lines.push({ level, message, fields }) };
}

function user(id: string, mailbox?: string): Principal {
  return { id, mailbox, isAdmin: false };
}

describe('withOwnAddresses', () => {
  let fixture: GraphFixture;

  before(async () => {
    fixture = await startGraphFixture();
  });
  after(async () => {
    await fixture.close();
  });

  it('adds the aliases the directory lists for the object id', async () => {
    const mailbox = fixture.sim.addMailbox('lynne@contoso.com');
    fixture.sim.setProxyAddresses(mailbox.id, ['SMTP:lynne@contoso.com', 'smtp:lr@contoso.com', 'x500:/o=x']);
    const { log } = recordingLog();
    const resolved = await withOwnAddresses(user(mailbox.id, 'Lynne@Contoso.com'), fixture.client, log);
    assert.deepEqual(resolved.addresses, ['lynne@contoso.com', 'lr@contoso.com']);
  });

  it('ignores an address claim the directory does not confirm', async () => {
    const alex = fixture.sim.addMailbox('alex@contoso.com');
    const diego = fixture.sim.addMailbox('diego@contoso.com');
    fixture.sim.setProxyAddresses(diego.id, ['SMTP:diego@contoso.com', 'smtp:dg@contoso.com']);
    const { log } = recordingLog();
    // Alex's object id with Diego's address in the claim: the lookup is by object id.
    const resolved = await withOwnAddresses(user(alex.id, 'diego@contoso.com'), fixture.client, log);
    assert.deepEqual(resolved.addresses, ['alex@contoso.com']);
    assert.equal(ownAddresses(resolved).includes('dg@contoso.com'), false);
    assert.equal(ownAddresses(resolved).includes('diego@contoso.com'), false);
  });

  it('keeps a claim that is the user principal name', async () => {
    const mailbox = fixture.sim.addMailbox('patti@contoso.com');
    mailbox.userPrincipalName = 'patti.f@contoso.onmicrosoft.com';
    const { log } = recordingLog();
    const resolved = await withOwnAddresses(user(mailbox.id, 'Patti.F@contoso.onmicrosoft.com'), fixture.client, log);
    assert.deepEqual(resolved.addresses, ['patti@contoso.com', 'patti.f@contoso.onmicrosoft.com']);
  });

  it('falls back to the claim when the user is unknown', async () => {
    const { log, lines } = recordingLog();
    const resolved = await withOwnAddresses(user(randomUUID(), 'ghost@contoso.com'), fixture.client, log);
    assert.deepEqual(resolved.addresses, ['ghost@contoso.com']);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'warn');
    assert.equal(JSON.stringify(lines).includes('ghost@contoso.com'), false, 'the warning names no address');
  });

  it('falls back to the claim when Graph is down', async () => {
    const mailbox = fixture.sim.addMailbox('isaiah@contoso.com');
    fixture.sim.setProxyAddresses(mailbox.id, ['SMTP:isaiah@contoso.com', 'smtp:il@contoso.com']);
    fixture.sim.addFault({ pathIncludes: `/users/${mailbox.id}`, status: 503, code: 'ServiceUnavailable', times: 50 });
    const { log, lines } = recordingLog();
    const resolved = await withOwnAddresses(user(mailbox.id, 'isaiah@contoso.com'), fixture.client, log);
    assert.deepEqual(resolved.addresses, ['isaiah@contoso.com']);
    assert.equal(lines[0]?.fields?.code, 'mailbox-unavailable');
    assert.equal(JSON.stringify(lines).includes('isaiah@'), false);
  });

  it('skips the lookup for a non-GUID object id', async () => {
    fixture.sim.resetStats();
    const { log, lines } = recordingLog();
    const resolved = await withOwnAddresses(user('../groups', 'nora@contoso.com'), fixture.client, log);
    assert.deepEqual(resolved.addresses, ['nora@contoso.com']);
    assert.equal(fixture.sim.requestLog.length, 0);
    assert.equal(lines[0]?.fields?.reason, 'invalid-object-id');
  });

  it('uses only the claim without a directory', async () => {
    const { log } = recordingLog();
    const resolved = await withOwnAddresses(user(randomUUID(), 'Solo@Contoso.com'), undefined, log);
    assert.deepEqual(resolved.addresses, ['solo@contoso.com']);
  });

  it('leaves administrators and the local user unchanged', async () => {
    const { log } = recordingLog();
    const admin: Principal = { id: randomUUID(), mailbox: 'admin@contoso.com', isAdmin: true };
    assert.equal(await withOwnAddresses(admin, fixture.client, log), admin);
    const local: Principal = { id: 'local-user', mailbox: 'dev@contoso.com', addresses: ['dev@contoso.com', 'dev2@contoso.com'], isAdmin: false };
    assert.equal(await withOwnAddresses(local, fixture.client, log), local);
  });

  it('keeps at most the address bound and logs the rest as a count', async () => {
    const mailbox = fixture.sim.addMailbox('many@contoso.com');
    const aliases = Array.from({ length: 60 }, (_, index) => `smtp:many${index}@contoso.com`);
    fixture.sim.setProxyAddresses(mailbox.id, ['SMTP:many@contoso.com', ...aliases]);
    const { log, lines } = recordingLog();
    const resolved = await withOwnAddresses(user(mailbox.id, 'many@contoso.com'), fixture.client, log);
    assert.equal(resolved.addresses?.length, MAX_USER_ADDRESSES);
    assert.equal(resolved.addresses?.[0], 'many@contoso.com');
    assert.equal(lines[0]?.fields?.addressCount, 61);
  });
});

describe('CachedUserAddressDirectory', () => {
  let fixture: GraphFixture;

  before(async () => {
    fixture = await startGraphFixture();
  });
  after(async () => {
    await fixture.close();
  });

  const lookups = (id: string) =>
    fixture.sim.requestLog.filter((entry) => entry.path === `/users/${id}`).length;

  it('picks up a changed alias list once the entry expires', async () => {
    let now = Date.UTC(2026, 0, 1);
    const cache = new CachedUserAddressDirectory(fixture.client, { ttlMinutes: 15, now: () => now });
    const mailbox = fixture.sim.addMailbox('joni@contoso.com');
    fixture.sim.setProxyAddresses(mailbox.id, ['SMTP:joni@contoso.com', 'smtp:old-alias@contoso.com']);
    assert.deepEqual((await cache.addressesOf(mailbox.id)).addresses, ['joni@contoso.com', 'old-alias@contoso.com']);

    fixture.sim.setProxyAddresses(mailbox.id, ['SMTP:joni@contoso.com', 'smtp:new-alias@contoso.com']);
    now += 14 * 60_000;
    assert.deepEqual(
      (await cache.addressesOf(mailbox.id)).addresses,
      ['joni@contoso.com', 'old-alias@contoso.com'],
      'within the cache time the removed alias still counts',
    );
    now += 2 * 60_000;
    assert.deepEqual((await cache.addressesOf(mailbox.id)).addresses, ['joni@contoso.com', 'new-alias@contoso.com']);
    assert.equal(lookups(mailbox.id), 2);
  });

  it('shares one lookup between concurrent requests', async () => {
    const cache = new CachedUserAddressDirectory(fixture.client, { ttlMinutes: 15 });
    const mailbox = fixture.sim.addMailbox('concurrent@contoso.com');
    const results = await Promise.all([1, 2, 3, 4].map(() => cache.addressesOf(mailbox.id)));
    assert.equal(results.length, 4);
    assert.equal(lookups(mailbox.id), 1);
  });

  it('remembers a failure briefly, then asks again', async () => {
    let now = Date.UTC(2026, 0, 1);
    const cache = new CachedUserAddressDirectory(fixture.client, { ttlMinutes: 15, failureTtlMs: 60_000, now: () => now });
    const mailbox = fixture.sim.addMailbox('flaky@contoso.com');
    fixture.sim.addFault({ pathIncludes: `/users/${mailbox.id}`, status: 404, code: 'Request_ResourceNotFound' });
    await assert.rejects(cache.addressesOf(mailbox.id), { code: 'mailbox-request-failed' });
    now += 30_000;
    await assert.rejects(cache.addressesOf(mailbox.id), { code: 'mailbox-request-failed' });
    assert.equal(lookups(mailbox.id), 1);
    now += 31_000;
    assert.deepEqual((await cache.addressesOf(mailbox.id)).addresses, ['flaky@contoso.com']);
    assert.equal(lookups(mailbox.id), 2);
  });

  it('drops the oldest entry past the size bound', async () => {
    const cache = new CachedUserAddressDirectory(fixture.client, { ttlMinutes: 15, maxEntries: 2 });
    const first = fixture.sim.addMailbox('first@contoso.com');
    const second = fixture.sim.addMailbox('second@contoso.com');
    const third = fixture.sim.addMailbox('third@contoso.com');
    for (const mailbox of [first, second, third, first]) {
      await cache.addressesOf(mailbox.id);
    }
    assert.equal(lookups(first.id), 2);
    assert.equal(lookups(third.id), 1);
  });
});

describe('wiredUserAddressDirectory', () => {
  after(() => {
    provideUserAddressDirectory(undefined);
  });

  it('fails a lookup when nothing is wired', async () => {
    provideUserAddressDirectory(undefined);
    await assert.rejects(wiredUserAddressDirectory().addressesOf(randomUUID()), { code: 'config-invalid' });
  });

  it('turns a failing client build into a fallback to the claim', async () => {
    provideUserAddressDirectory(() => {
      throw new ScannerError('config-invalid', 'Graph credential is invalid');
    });
    const { log, lines } = recordingLog();
    const resolved = await withOwnAddresses(user(randomUUID(), 'kim@contoso.com'), wiredUserAddressDirectory(), log);
    assert.deepEqual(resolved.addresses, ['kim@contoso.com']);
    assert.equal(lines[0]?.fields?.code, 'config-invalid');
  });

  it('asks the wired directory', async () => {
    provideUserAddressDirectory(() => ({ addressesOf: async () => ({ addresses: ['wired@contoso.com'] }) }));
    const result = await wiredUserAddressDirectory().addressesOf(randomUUID());
    assert.deepEqual(result.addresses, ['wired@contoso.com']);
  });
});
