import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { toSmtpAddresses } from '../../src/auth/user-addresses.js';
import { ScannerError } from '../../src/shared/errors.js';
import { startGraphFixture, type GraphFixture } from './graph-test-support.js';

describe('toSmtpAddresses', () => {
  it('keeps smtp entries of any case, primary first', () => {
    const addresses = toSmtpAddresses('Adele@Contoso.com', [
      'smtp:adele.vance@contoso.com',
      'X500:/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=adele',
      'SMTP:Adele@Contoso.com',
      'sip:adele@contoso.com',
      'Smtp:av@sales.contoso.com',
      'eum:1234;phone-context=contoso.com',
    ]);
    assert.deepEqual(addresses, ['adele@contoso.com', 'adele.vance@contoso.com', 'av@sales.contoso.com']);
  });

  it('puts mail first without an upper-case SMTP entry', () => {
    assert.deepEqual(toSmtpAddresses('main@contoso.com', ['smtp:other@contoso.com']), [
      'main@contoso.com',
      'other@contoso.com',
    ]);
  });

  it('drops values that are not plain addresses', () => {
    const addresses = toSmtpAddresses(null, ['smtp:', 'smtp:no-at-sign', 'smtp:a b@contoso.com', 'smtp:<x@contoso.com>']);
    assert.deepEqual(addresses, []);
  });

  it('returns nothing for a user without mail', () => {
    assert.deepEqual(toSmtpAddresses(undefined, undefined), []);
  });
});

describe('GraphClient.addressesOf', () => {
  let fixture: GraphFixture;

  before(async () => {
    fixture = await startGraphFixture();
  });
  after(async () => {
    await fixture.close();
  });

  it('reads SMTP proxy addresses and the UPN by object id', async () => {
    const user = fixture.sim.addMailbox('Megan@contoso.com');
    fixture.sim.setProxyAddresses(user.id, [
      'x500:/o=ExchangeLabs/cn=Recipients/cn=megan',
      'smtp:megan.bowen@contoso.com',
      'SMTP:megan@contoso.com',
      'SIP:megan@contoso.com',
      'smtp:MEGAN.BOWEN@contoso.com',
    ]);
    const result = await fixture.client.addressesOf(user.id);
    assert.deepEqual(result.addresses, ['megan@contoso.com', 'megan.bowen@contoso.com']);
    assert.equal(result.userPrincipalName, 'megan@contoso.com');
  });

  it('looks the user up by object id', async () => {
    const user = fixture.sim.addMailbox('select-check@contoso.com');
    fixture.sim.resetStats();
    await fixture.client.addressesOf(user.id);
    const entry = fixture.sim.requestLog.find((logged) => logged.path === `/users/${user.id}`);
    assert.ok(entry, 'the request is logged under the object id');
    assert.equal(entry.status, 200);
  });

  it('throws for an unknown user', async () => {
    await assert.rejects(fixture.client.addressesOf(randomUUID()), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'mailbox-request-failed');
      assert.equal(error.fields.status, 404);
      return true;
    });
  });

  it('retries a throttled lookup', async () => {
    const user = fixture.sim.addMailbox('throttled-lookup@contoso.com');
    fixture.sim.addFault({ pathIncludes: `/users/${user.id}`, status: 429, code: 'TooManyRequests', retryAfter: '0', times: 2 });
    const result = await fixture.client.addressesOf(user.id);
    assert.deepEqual(result.addresses, ['throttled-lookup@contoso.com']);
    const statuses = fixture.sim.requestLog
      .filter((logged) => logged.path === `/users/${user.id}`)
      .map((logged) => logged.status);
    assert.deepEqual(statuses, [429, 429, 200]);
  });

  it('reports a lasting outage as unavailable', async () => {
    const user = fixture.sim.addMailbox('down-lookup@contoso.com');
    fixture.sim.addFault({ pathIncludes: `/users/${user.id}`, status: 503, code: 'ServiceUnavailable', times: 50 });
    await assert.rejects(fixture.client.addressesOf(user.id), { code: 'mailbox-unavailable' });
  });
});

describe('Graph simulator GET /users/{id}', () => {
  let fixture: GraphFixture;

  before(async () => {
    fixture = await startGraphFixture();
  });
  after(async () => {
    await fixture.close();
  });

  const getUser = (path: string) => fetchWithToken(fixture, path);

  it('returns proxyAddresses only when selected', async () => {
    const user = fixture.sim.addMailbox('selected@contoso.com');
    const plain = await getUser(`/users/${user.id}`);
    assert.equal(plain.status, 200);
    assert.equal('proxyAddresses' in plain.body, false);
    const selected = await getUser(`/users/${user.id}?$select=proxyAddresses`);
    assert.deepEqual(selected.body.proxyAddresses, ['SMTP:selected@contoso.com']);
    assert.equal('id' in selected.body, false);
  });

  it('rejects an unknown property in $select', async () => {
    const user = fixture.sim.addMailbox('badselect@contoso.com');
    const response = await getUser(`/users/${user.id}?$select=aliases`);
    assert.equal(response.status, 400);
  });
});

/** Sends a GET to the simulator with a token from its own token endpoint. */
async function fetchWithToken(
  fixture: GraphFixture,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const { request } = await import('node:https');
  const tokenBody = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: fixture.sim.clientId,
    client_secret: fixture.sim.clientSecret,
    scope: 'https://graph.microsoft.com/.default',
  }).toString();
  const send = (url: URL, method: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const outgoing = request(url, { method, headers, ca: fixture.sim.certificate }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  const token = await send(new URL(fixture.sim.tokenUrl), 'POST', { 'content-type': 'application/x-www-form-urlencoded' }, tokenBody);
  const accessToken = (JSON.parse(token.text) as { access_token: string }).access_token;
  const response = await send(new URL(`${fixture.sim.baseUrl}${path}`), 'GET', { authorization: `Bearer ${accessToken}` });
  return { status: response.status, body: JSON.parse(response.text) as Record<string, unknown> };
}
