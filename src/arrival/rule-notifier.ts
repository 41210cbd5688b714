import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import escapeHtml from 'escape-html';

import type { NotifySettings } from '../config/settings.js';
import type { MimeMailSender, OutgoingMail } from '../graph/subscription-client.js';
import { toError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { toOutgoingMime } from '../shared/outgoing-mime.js';

/** Length to which the scanned message's sender and subject are cut in a notification. */
const MAX_QUOTED_CHARS = 256;

/** From address of .eml notifications written without a sender mailbox. */
const LOCAL_FROM_ADDRESS = 'mailsweep@localhost.invalid';

/** The sliding window of the rate limit, in milliseconds. */
const RATE_WINDOW_MS = 60 * 60 * 1000;

/** A notification a rule asked for, with its text already filled in from the template. */
export interface RuleNotice {
  rule: string;
  to: 'admin' | 'recipient';
  text: string;
}

/** The scanned message, as a notification names it. Never its body. */
export interface NoticeSubject {
  mailbox: string;
  sender?: string;
  subject?: string;
}

/** Outcome of one notification. */
export type NoticeOutcome =
  | 'sent'
  | 'written'
  | 'rate-limited'
  | 'no-recipient'
  | 'not-configured'
  | 'failed';

/** Sends rule notifications; never throws, because a notification must not fail a scan. */
export interface RuleNotifier {
  send(notice: RuleNotice, about: NoticeSubject): Promise<NoticeOutcome>;
}

/** Options of {@link createRuleNotifier}. */
export interface RuleNotifierOptions {
  settings: NotifySettings;
  /** Graph sendMail in MIME format; used when `settings.sender` is set. */
  mailSender?: MimeMailSender;
  logger: Logger;
  now?: () => number;
}

/**
 * Creates the notifier: Graph sendMail from the configured sender mailbox, or else a .eml file in
 * the outbox folder, or else a log line only. At most `maxPerHour` notifications leave one process
 * per hour; the rest are dropped and counted.
 */
export function createRuleNotifier(options: RuleNotifierOptions): RuleNotifier {
  const { settings, logger } = options;
  const now = options.now ?? Date.now;
  const sentAt: number[] = [];
  let dropped = 0;

  const takeSlot = (): boolean => {
    const windowStart = now() - RATE_WINDOW_MS;
    while (sentAt.length > 0 && (sentAt[0] ?? 0) <= windowStart) {
      sentAt.shift();
    }
    if (sentAt.length >= settings.maxPerHour) {
      dropped += 1;
      return false;
    }
    sentAt.push(now());
    return true;
  };

  return {
    async send(notice, about) {
      const to = recipientsOf(notice, about, settings);
      if (to.length === 0) {
        logger.warn('rule notification has no recipient; not sent', {
          rule: notice.rule,
          to: notice.to,
        });
        return 'no-recipient';
      }
      const sender = settings.sender;
      const canSend = sender !== undefined && options.mailSender !== undefined;
      if (!canSend && settings.outboxPath === undefined) {
        logger.info('rule notification not sent: no sender or outbox folder is configured', {
          rule: notice.rule,
        });
        return 'not-configured';
      }
      if (!takeSlot()) {
        // NOTE: the limit is per process; several instances of the app may each send this many.
        logger.warn('rule notification dropped by the rate limit', { rule: notice.rule, dropped });
        return 'rate-limited';
      }
      try {
        const mail = composeNotice(notice, about, to);
        if (canSend) {
          await options.mailSender?.sendMimeMail(sender, await toOutgoingMime(mail, sender));
          return 'sent';
        }
        await writeEml(settings.outboxPath ?? '', mail);
        return 'written';
      } catch (error) {
        logger.warn('rule notification failed; it is not retried', {
          rule: notice.rule,
          error: toError(error).message,
        });
        return 'failed';
      }
    },
  };
}

function recipientsOf(
  notice: RuleNotice,
  about: NoticeSubject,
  settings: NotifySettings,
): string[] {
  if (notice.to === 'admin') {
    return [...settings.admins];
  }
  // A Graph mailbox may be named by its user id, which is no address to write to.
  return about.mailbox.includes('@') ? [about.mailbox] : [];
}

/**
 * Builds the notification. The rule's text, the sender and the subject are escaped for HTML and
 * cut to a fixed length; the scanned message's body is never included.
 */
export function composeNotice(
  notice: RuleNotice,
  about: NoticeSubject,
  to: string[],
): OutgoingMail {
  const rows: [string, string][] = [
    ['Rule', notice.rule],
    ['Mailbox', about.mailbox],
    ['Sender', clip(about.sender ?? '(none)')],
    ['Subject', clip(about.subject ?? '(none)')],
  ];
  const html =
    `<p>${escapeHtml(notice.text)}</p>\n<table>\n` +
    rows
      .map(([name, value]) => `<tr><th>${name}</th><td>${escapeHtml(value)}</td></tr>`)
      .join('\n') +
    '\n</table>\n';
  const text = [notice.text, '', ...rows.map(([name, value]) => `${name}: ${value}`)].join('\n');
  return {
    to,
    subject: `mailsweep: rule "${singleLine(notice.rule)}" matched`,
    html,
    text,
  };
}

function clip(value: string): string {
  const line = singleLine(value);
  return line.length > MAX_QUOTED_CHARS ? `${line.slice(0, MAX_QUOTED_CHARS)}…` : line;
}

function singleLine(value: string): string {
  return value.replace(/[\r\n\t]+/g, ' ');
}

/**
 * Writes the notification as the RFC 5322 message Graph would send; for local runs without a
 * sender mailbox.
 */
async function writeEml(folder: string, mail: OutgoingMail): Promise<void> {
  await mkdir(folder, { recursive: true });
  const eml = await toOutgoingMime(mail, LOCAL_FROM_ADDRESS);
  const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}.eml`;
  await writeFile(path.join(folder, name), eml, { flag: 'wx' });
}
