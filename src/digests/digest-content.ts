import type { OutgoingMail } from '../graph/subscription-client.js';
import type { QuarantineSummary } from '../quarantine/quarantine-index.js';

/**
 * Builds the digest messages: HTML and plain text from the index rows of quarantined items. Every
 * value from a message (sender, subject) is HTML-escaped, and the links carry the item id only,
 * never a token, so the web interface still asks the reader to sign in.
 */

/** Most items listed in one digest; the digest states how many more there are. */
export const MAX_DIGEST_ITEMS = 50;

/** Most mailboxes listed in an administrator summary, the busiest first. */
export const MAX_SUMMARY_MAILBOXES = 50;

/** Longest subject shown in a digest, in characters. */
const MAX_SUBJECT_CHARS = 200;

/** One recipient's new items, newest first, of which at most {@link MAX_DIGEST_ITEMS} are kept. */
export interface RecipientDigest {
  recipient: string;
  items: QuarantineSummary[];
  /** New items beyond those in `items`. */
  moreCount: number;
}

/** Link to an item in the web interface: `<base>/api/ui/?item=<id>`. */
export function itemLink(uiBaseUrl: string, id: string): string {
  return new URL(`api/ui/?item=${encodeURIComponent(id)}`, withSlash(uiBaseUrl)).href;
}

/** Builds one recipient's digest. */
export function buildRecipientDigest(digest: RecipientDigest, uiBaseUrl: string): OutgoingMail {
  const total = digest.items.length + digest.moreCount;
  const subject = `Quarantine digest: ${total} new ${total === 1 ? 'message' : 'messages'} held for you`;
  const intro =
    `mailsweep held ${total} new ${total === 1 ? 'message' : 'messages'} addressed to ` +
    `${digest.recipient} since your last digest. Open a message to review it; you will be asked ` +
    'to sign in.';
  const more =
    digest.moreCount > 0
      ? `${digest.moreCount} more ${digest.moreCount === 1 ? 'message is' : 'messages are'} not ` +
        'listed here; open the quarantine to see them all.'
      : undefined;
  const listUrl = new URL('api/ui/', withSlash(uiBaseUrl)).href;

  const rows = digest.items.map((item) => ({
    date: formatTime(item.receivedAt ?? item.quarantinedAt),
    sender: shorten(item.sender ?? '(unknown sender)'),
    subject: shorten(item.subject ?? '(no subject)'),
    category: item.category,
    link: itemLink(uiBaseUrl, item.id),
  }));

  const text = [
    intro,
    '',
    ...rows.flatMap((row) => [
      `${row.date}  ${row.category}`,
      `  From: ${row.sender}`,
      `  Subject: ${row.subject}`,
      `  Review: ${row.link}`,
      '',
    ]),
    ...(more === undefined ? [] : [more, '']),
    `Quarantine: ${listUrl}`,
  ].join('\n');

  const tableRows = rows
    .map(
      (row) =>
        `<tr><td>${escapeHtml(row.date)}</td><td>${escapeHtml(row.sender)}</td>` +
        `<td><a href="${escapeHtml(row.link)}">${escapeHtml(row.subject)}</a></td>` +
        `<td>${escapeHtml(row.category)}</td></tr>`,
    )
    .join('\n');
  const html = page(
    subject,
    `<p>${escapeHtml(intro)}</p>
<table cellpadding="4" cellspacing="0" border="1">
<thead><tr><th>Received</th><th>Sender</th><th>Subject</th><th>Category</th></tr></thead>
<tbody>
${tableRows}
</tbody>
</table>
${more === undefined ? '' : `<p>${escapeHtml(more)}</p>`}
<p><a href="${escapeHtml(listUrl)}">Open the quarantine</a></p>`,
  );
  return { to: [digest.recipient], subject, html, text };
}

/** New items of one mailbox, counted by category, for the administrator summary. */
export interface MailboxTally {
  mailbox: string;
  total: number;
  byCategory: Record<string, number>;
}

/** Builds the administrator summary across mailboxes. */
export function buildAdminSummary(
  recipients: readonly string[],
  tallies: readonly MailboxTally[],
  since: Date,
  uiBaseUrl: string,
): OutgoingMail {
  const totals: Record<string, number> = {};
  let total = 0;
  for (const tally of tallies) {
    total += tally.total;
    for (const [category, count] of Object.entries(tally.byCategory)) {
      totals[category] = (totals[category] ?? 0) + count;
    }
  }
  const busiest = [...tallies]
    .sort((a, b) => b.total - a.total || a.mailbox.localeCompare(b.mailbox))
    .slice(0, MAX_SUMMARY_MAILBOXES);
  const categories = Object.keys(totals).sort();
  const subject = `Quarantine summary: ${total} new messages in ${tallies.length} mailboxes`;
  const intro = `Since ${formatTime(since.toISOString())}, mailsweep quarantined ${total} messages in ${tallies.length} mailboxes.`;
  const hidden = tallies.length - busiest.length;
  const moreLine = hidden > 0 ? `${hidden} more mailboxes are not listed.` : undefined;
  const listUrl = new URL('api/ui/', withSlash(uiBaseUrl)).href;

  const text = [
    intro,
    '',
    ...categories.map((category) => `${category}: ${totals[category]}`),
    '',
    'Mailboxes with the most new items:',
    ...busiest.map((tally) => `  ${tally.mailbox}: ${tally.total} (${describeCounts(tally.byCategory)})`),
    ...(moreLine === undefined ? [] : [moreLine]),
    '',
    `Quarantine: ${listUrl}`,
  ].join('\n');

  const html = page(
    subject,
    `<p>${escapeHtml(intro)}</p>
<ul>${categories.map((category) => `<li>${escapeHtml(category)}: ${totals[category]}</li>`).join('')}</ul>
<table cellpadding="4" cellspacing="0" border="1">
<thead><tr><th>Mailbox</th><th>New items</th><th>By category</th></tr></thead>
<tbody>
${busiest
  .map(
    (tally) =>
      `<tr><td>${escapeHtml(tally.mailbox)}</td><td>${tally.total}</td>` +
      `<td>${escapeHtml(describeCounts(tally.byCategory))}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>
${moreLine === undefined ? '' : `<p>${escapeHtml(moreLine)}</p>`}
<p><a href="${escapeHtml(listUrl)}">Open the quarantine</a></p>`,
  );
  return { to: [...recipients], subject, html, text };
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family: sans-serif">
<h1 style="font-size: 1.2em">${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

function describeCounts(byCategory: Record<string, number>): string {
  return Object.entries(byCategory)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([category, count]) => `${category} ${count}`)
    .join(', ');
}

function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Drops control characters, which could break a text line, and cuts long subjects. */
function shorten(subject: string): string {
  const clean = subject.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return clean.length > MAX_SUBJECT_CHARS ? `${clean.slice(0, MAX_SUBJECT_CHARS)}…` : clean;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
