import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import { createRuleNotifier } from '../../src/arrival/rule-notifier.js';
import type { MailSender, OutgoingMail } from '../../src/graph/subscription-client.js';
import { silentLogger } from '../../src/shared/logger.js';

const notice = { rule: 'Binary alert', to: 'admin' as const, text: 'Rule matched' };
const about = { mailbox: 'user@contoso.com', sender: 'x@fabrikam.example', subject: 'Hello' };

/** Records what it would send; the Graph wire format is tested against the simulator elsewhere. */
function recordingSender(): MailSender & { sent: OutgoingMail[] } {
  const sent: OutgoingMail[] = [];
  return {
    sent,
    async sendMail(_from, mail) {
      sent.push(mail);
    },
  };
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
    assert.deepEqual(sender.sent[0]?.to, ['user@contoso.com']);
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
    assert.match(eml, /^Subject: mailsweep: rule "Binary alert" matched\r$/m);
    const body = Buffer.from(eml.split('\r\n\r\n')[1] ?? '', 'base64').toString('utf8');
    assert.match(body, /Grüße &lt;b&gt;/);
  });

  it('only logs without a sender or outbox', async () => {
    const notifier = createRuleNotifier({
      settings: { admins: ['admin@contoso.com'], maxPerHour: 10 },
      logger: silentLogger,
    });
    assert.equal(await notifier.send(notice, about), 'not-configured');
  });
});
