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
  it('records base64 MIME sent through sendMail', async () => {
    const mailbox = sim.addMailbox('mime-send@contoso.com');
    const url = `${sim.baseUrl}/users/${mailbox.id}/sendMail`;
    const mime = Buffer.from(sampleMime(2));
    // The simulator accepts base64 split into lines, as MIME encoders write it, and on one line.
    const folded = mime.toString('base64').replace(/.{76}/g, '$&\r\n');
    const response = await send(sim, 'POST', url, { token, body: folded, contentType: 'text/plain' });
    assert.equal(response.status, 202);
    assert.equal(response.body, '');
    const sent = sim.sentMail.at(-1);
    assert.equal(sent?.mailboxId, mailbox.id);
    assert.equal(sent?.format, 'mime');
    assert.deepEqual(sent?.mime, mime);
  });

  it('rejects malformed MIME on sendMail with 400', async () => {
    const mailbox = sim.addMailbox('mime-bad@contoso.com');
    const url = `${sim.baseUrl}/users/${mailbox.id}/sendMail`;
    const sentBefore = sim.sentMail.length;
    const cases = [
      { name: 'not base64', body: 'this is not base64!', code: 'ErrorMimeContentInvalidBase64String' },
      { name: 'bad padding', body: 'abcde', code: 'ErrorMimeContentInvalidBase64String' },
      { name: 'empty', body: '', code: 'ErrorMimeContentInvalidBase64String' },
      {
        name: 'no header block',
        body: Buffer.from('just some text\r\n').toString('base64'),
        code: 'ErrorMimeContentInvalid',
      },
      {
        name: 'no recipient',
        body: Buffer.from(sampleMime(3).replace('To: user@contoso.com\r\n', '')).toString('base64'),
        code: 'ErrorInvalidRecipients',
      },
    ];
    for (const testCase of cases) {
      const response = await send(sim, 'POST', url, { token, body: testCase.body, contentType: 'text/plain' });
      assert.equal(response.status, 400, testCase.name);
      const error = JSON.parse(response.body).error as { code: string; message: string };
      assert.equal(error.code, testCase.code, testCase.name);
      if (testCase.code !== 'ErrorInvalidRecipients') {
        assert.equal(error.message, 'Invalid base64 string for MIME content.', testCase.name);
      }
    }
    assert.equal(sim.sentMail.length, sentBefore);
  });

  it('returns 413 for MIME sendMail over 4 MB', async () => {
    const mailbox = sim.addMailbox('mime-large@contoso.com');
    const url = `${sim.baseUrl}/users/${mailbox.id}/sendMail`;
    const body = 'QUJD'.repeat(1024 * 1024 + 1);
    const response = await send(sim, 'POST', url, { token, body, contentType: 'text/plain' });
    assert.equal(response.status, 413);
    assert.equal(JSON.parse(response.body).error.code, 'RequestEntityTooLarge');
  });

  it('throttles MIME sendMail like other mailbox requests', async () => {
    const mailbox = sim.addMailbox('mime-throttled@contoso.com');
    const url = `${sim.baseUrl}/users/${mailbox.id}/sendMail`;
    const body = Buffer.from(sampleMime(4)).toString('base64');
    const limit = sim.faults.requestsPerWindow;
    sim.faults.requestsPerWindow = 1;
    let responses: RawResponse[];
    try {
      responses = [
        await send(sim, 'POST', url, { token, body, contentType: 'text/plain' }),
        await send(sim, 'POST', url, { token, body, contentType: 'text/plain' }),
      ];
    } finally {
      sim.faults.requestsPerWindow = limit;
    }
    assert.deepEqual(
      responses.map((response) => response.status),
      [202, 429],
    );
    assert.ok(Number(responses[1]?.headers['retry-after']) > 0);
    assert.equal(sim.stats(mailbox.mail).throttled, 1);
  });
});
