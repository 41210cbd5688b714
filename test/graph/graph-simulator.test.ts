import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';

import { startGraphSimulator, type GraphSimulator } from '../graph-simulator/graph-simulator.js';
import { sampleMime } from './graph-test-support.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends one request to the simulator with node:https, trusting its certificate. */
function send(
  sim: GraphSimulator,
  method: string,
  url: string,
  options: { token?: string; body?: string; contentType?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) {
      headers.authorization = `Bearer ${options.token}`;
    }
    if (options.contentType !== undefined) {
      headers['content-type'] = options.contentType;
    }
    const outgoing = request(url, { method, headers, ca: sim.certificate }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () =>
        resolve({
          status: incoming.statusCode ?? 0,
          headers: incoming.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

async function fetchToken(sim: GraphSimulator): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: sim.clientId,
    client_secret: sim.clientSecret,
    scope: 'https://graph.microsoft.com/.default',
  });
  const response = await send(sim, 'POST', sim.tokenUrl, {
    body: form.toString(),
    contentType: 'application/x-www-form-urlencoded',
  });
  assert.equal(response.status, 200);
  return (JSON.parse(response.body) as { access_token: string }).access_token;
}

describe('Graph simulator', () => {
  let sim: GraphSimulator;
  let token: string;

  before(async () => {
    sim = await startGraphSimulator();
    token = await fetchToken(sim);
  });
  after(async () => {
    await sim.close();
  });

  it('rejects a request without a token', async () => {
    const mailbox = sim.addMailbox('no-token@contoso.com');
    const response = await send(sim, 'GET', `${sim.baseUrl}/users/${mailbox.id}/messages`);
    assert.equal(response.status, 401);
    assert.equal(JSON.parse(response.body).error.code, 'InvalidAuthenticationToken');
  });

  it('rejects a wrong client secret', async () => {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: sim.clientId,
      client_secret: 'wrong',
    });
    const response = await send(sim, 'POST', sim.tokenUrl, {
      body: form.toString(),
      contentType: 'application/x-www-form-urlencoded',
    });
    assert.equal(response.status, 401);
    assert.equal(JSON.parse(response.body).error, 'invalid_client');
  });

  it('answers a fifth concurrent request with MailboxConcurrency', async () => {
    const mailbox = sim.addMailbox('five@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    sim.faults.latencyMs = 200;
    let responses: RawResponse[];
    try {
      const url = `${sim.baseUrl}/users/${mailbox.id}/messages/${message.id}`;
      responses = await Promise.all([1, 2, 3, 4, 5].map(() => send(sim, 'GET', url, { token })));
    } finally {
      sim.faults.latencyMs = 0;
    }
    const rejected = responses.filter((response) => response.status === 429);
    assert.equal(rejected.length, 1);
    const error = JSON.parse(rejected[0]!.body).error as { code: string; message: string };
    assert.equal(error.code, 'ApplicationThrottled');
    assert.match(error.message, /MailboxConcurrency/);
    assert.equal(rejected[0]!.headers['retry-after'], undefined);
    assert.equal(responses.filter((response) => response.status === 200).length, 4);
    assert.equal(sim.stats(mailbox.mail).peakConcurrency, 5);
  });

  it('sends Retry-After on random 429s when set', async () => {
    const mailbox = sim.addMailbox('random@contoso.com');
    sim.faults.throttleRate = 1;
    sim.faults.throttleRetryAfterSeconds = 7;
    try {
      const response = await send(sim, 'GET', `${sim.baseUrl}/users/${mailbox.id}/messages`, {
        token,
      });
      assert.equal(response.status, 429);
      assert.equal(response.headers['retry-after'], '7');
    } finally {
      sim.faults.throttleRate = 0;
      sim.faults.throttleRetryAfterSeconds = undefined;
    }
  });

  it('hides hidden folders unless asked', async () => {
    const mailbox = sim.addMailbox('folders@contoso.com');
    const created = await send(sim, 'POST', `${sim.baseUrl}/users/${mailbox.id}/mailFolders`, {
      token,
      body: JSON.stringify({ displayName: 'Quarantine', isHidden: true }),
      contentType: 'application/json',
    });
    assert.equal(created.status, 201);
    const names = async (query: string): Promise<string[]> => {
      const response = await send(
        sim,
        'GET',
        `${sim.baseUrl}/users/${mailbox.id}/mailFolders?${query}`,
        {
          token,
        },
      );
      return (JSON.parse(response.body).value as Array<{ displayName: string }>).map(
        (f) => f.displayName,
      );
    };
    assert.ok(!(await names('$top=50')).includes('Quarantine'));
    assert.ok((await names('$top=50&includeHiddenFolders=true')).includes('Quarantine'));
    const duplicate = await send(sim, 'POST', `${sim.baseUrl}/users/${mailbox.id}/mailFolders`, {
      token,
      body: JSON.stringify({ displayName: 'quarantine' }),
      contentType: 'application/json',
    });
    assert.equal(duplicate.status, 409);
  });

  it('rejects an unsupported filter', async () => {
    const mailbox = sim.addMailbox('filter@contoso.com');
    const filter = encodeURIComponent("subject eq 'x'");
    const response = await send(
      sim,
      'GET',
      `${sim.baseUrl}/users/${mailbox.id}/messages?$filter=${filter}`,
      {
        token,
      },
    );
    assert.equal(response.status, 400);
  });

  it('creates drafts from MIME, received mail from flagged JSON', async () => {
    const mailbox = sim.addMailbox('create@contoso.com');
    const url = `${sim.baseUrl}/users/${mailbox.id}/mailFolders/inbox/messages`;
    const mime = Buffer.from(sampleMime(1));
    const fromMime = await send(sim, 'POST', url, { token, body: mime.toString('base64'), contentType: 'text/plain' });
    assert.equal(fromMime.status, 201);
    const draft = JSON.parse(fromMime.body) as { id: string; isDraft: boolean };
    assert.equal(draft.isDraft, true);
    assert.deepEqual(sim.message('create@contoso.com', draft.id)?.mime, mime);

    const json = (flags?: string) =>
      JSON.stringify({
        subject: 'Hello',
        body: { contentType: 'text', content: 'Hi' },
        singleValueExtendedProperties: flags === undefined ? [] : [{ id: 'Integer 0x0E07', value: flags }],
      });
    const received = await send(sim, 'POST', url, { token, body: json('1'), contentType: 'application/json' });
    const unsent = await send(sim, 'POST', url, { token, body: json('9'), contentType: 'application/json' });
    const plain = await send(sim, 'POST', url, { token, body: json(), contentType: 'application/json' });
    assert.equal((JSON.parse(received.body) as { isDraft: boolean }).isDraft, false);
    assert.equal((JSON.parse(unsent.body) as { isDraft: boolean }).isDraft, true);
    assert.equal((JSON.parse(plain.body) as { isDraft: boolean }).isDraft, true);
  });
});
