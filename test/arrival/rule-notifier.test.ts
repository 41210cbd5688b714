import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import PostalMime, { type Email } from 'postal-mime';

import { createRuleNotifier } from '../../src/arrival/rule-notifier.js';
import type { MimeMailSender } from '../../src/graph/subscription-client.js';
import { silentLogger } from '../../src/shared/logger.js';

const notice = { rule: 'Binary alert', to: 'admin' as const, text: 'Rule matched' };
const about = { mailbox: 'user@contoso.com', sender: 'x@fabrikam.example', subject: 'Hello' };

/** Records what it would send; the Graph wire format is tested against the simulator elsewhere. */
function recordingSender(): MimeMailSender & { sent: { from: string; mime: Buffer }[] } {
  const sent: { from: string; mime: Buffer }[] = [];
  return {
    sent,
    async sendMimeMail(from, mime) {
      sent.push({ from, mime });
    },
  };
}

async function parseSent(sent: { mime: Buffer } | undefined): Promise<Email> {
  assert.ok(sent, 'a notification was sent');
  return PostalMime.parse(sent.mime);
}

describe('createRuleNotifier', () => {
  it('drops notifications over the hourly limit', async () => {
    let now = Date.parse('2026-12-04T10:00:00Z');
    const sender = recordingSender();
    const notifier = createRuleNotifier({
      settings: { sender: 'alerts@contoso.com', admins: ['admin@contoso.com'], maxPerHour: 2 },
      mailSender: sender,
      logger: silentLogger,
      now: () => now,
    });

    assert.equal(await notifier.send(notice, about), 'sent');
    assert.equal(await notifier.send(notice, about), 'sent');
    assert.equal(await notifier.send(notice, about), 'rate-limited');
    now += 60 * 60 * 1000 + 1;
    assert.equal(await notifier.send(notice, about), 'sent');
    assert.equal(sender.sent.length, 3);
  });

  it('sends to the mailbox for a recipient notification', async () => {
    const sender = recordingSender();
    const notifier = createRuleNotifier({
      settings: { sender: 'alerts@contoso.com', admins: [], maxPerHour: 10 },
      mailSender: sender,
      logger: silentLogger,
    });

    assert.equal(await notifier.send({ ...notice, to: 'recipient' }, about), 'sent');
    const sent = await parseSent(sender.sent[0]);
    assert.deepEqual(sent.to?.map((entry) => entry.address), ['user@contoso.com']);
    assert.equal(sent.from?.address, 'alerts@contoso.com');
    assert.equal(sender.sent[0]?.from, 'alerts@contoso.com');
    assert.match(sent.text ?? '', /Subject: Hello/);
    assert.match(sent.html ?? '', /<td>Hello<\/td>/);
    assert.equal(await notifier.send(notice, about), 'no-recipient');
  });

  it('writes an .eml file when no sender is set', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'mailsweep-outbox-'));
    const notifier = createRuleNotifier({
      settings: { admins: ['admin@contoso.com'], outboxPath: folder, maxPerHour: 10 },
      logger: silentLogger,
    });

    assert.equal(await notifier.send(notice, { ...about, subject: 'Grüße <b>' }), 'written');
    const files = await readdir(folder);
    assert.equal(files.length, 1);
    const eml = await readFile(path.join(folder, files[0] ?? ''), 'utf8');
    assert.match(eml, /^To: admin@contoso.com\r$/m);
    assert.match(eml, /^Auto-Submitted: auto-generated\r$/m);
    const parsed = await PostalMime.parse(eml);
    assert.equal(parsed.subject, 'mailsweep: rule "Binary alert" matched');
    assert.match(parsed.html ?? '', /Grüße &lt;b&gt;/);
    assert.match(parsed.text ?? '', /Subject: Grüße <b>/);
  });

  it('only logs without a sender or outbox', async () => {
    const notifier = createRuleNotifier({
      settings: { admins: ['admin@contoso.com'], maxPerHour: 10 },
      logger: silentLogger,
    });
    assert.equal(await notifier.send(notice, about), 'not-configured');
  });
});
