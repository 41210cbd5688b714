import type { HeaderField } from '../types.js';
import type { EmitToken } from './token-sink.js';

/**
 * Header fields left out of the tokens. Dates and mailbox-storage fields are added by the
 * receiving mail store or by whoever collected a training corpus, so they teach the collection
 * date rather than the sender. Per-recipient fields say nothing about the sender, and the
 * verdicts of other filters are read separately by the engine.
 */
const IGNORED_HEADERS = new Set([
  'date',
  'delivery-date',
  'resent-date',
  'x-original-date',
  'posted-date',
  'nntp-posting-date',
  'status',
  'x-status',
  'x-keywords',
  'x-uid',
  'x-uidl',
  'x-imapbase',
  'x-imap',
  'x-sieve',
  'content-length',
  'lines',
  'delivered-to',
  'x-delivered-to',
  'x-original-to',
  'envelope-to',
  'x-envelope-to',
  'x-rcpt-to',
  'x-mdrcpt-to',
  'authentication-results',
  'arc-authentication-results',
  'received-spf',
  // Mailing-list fields describe the list server that relayed the message, not its author, and
  // spam posted to a list would otherwise inherit the list's good standing.
  'sender',
  'errors-to',
  'precedence',
  'x-beenthere',
  'x-loop',
  'mailing-list',
  'x-mailing-list',
]);

/**
 * Prefixes of header names left out for the same reasons as {@link IGNORED_HEADERS}. Each starts
 * with `x` or `l`, which {@link isTokenizedHeader} relies on.
 */
const IGNORED_HEADER_PREFIXES = [
  'x-spam',
  'x-ms-exchange-',
  'x-microsoft-antispam',
  'x-forefront-',
  'list-',
  'x-list-',
  'x-mailman-',
  'x-ml-',
  'x-egroups-',
  'x-yahoo-group',
];

const ADDRESS_HEADERS = new Set(['from', 'reply-to', 'return-path']);
const RECIPIENT_HEADERS = new Set(['to', 'cc']);
const CLIENT_HEADERS = new Set(['x-mailer', 'user-agent', 'x-mimeole', 'x-mailer-version']);
const VALUE_HEADERS = new Set([
  'x-priority',
  'x-msmail-priority',
  'importance',
  'content-transfer-encoding',
  'mime-version',
]);

const MAX_HEADERS = 200;
const MAX_HEADER_VALUE_CHARS = 1000;
const MAX_RECEIVED_HEADERS = 12;
/** Dates and times inside a word, which teach the training period rather than the sender. */
export const DATE_LIKE = /\d{1,4}[/-]\d{1,2}[/-]\d{1,4}|\d{1,2}:\d{2}/;
const IPV4 = /\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b/g;

/** Returns true when a header field may teach the classifier something about the sender. */
export function isTokenizedHeader(key: string): boolean {
  if (IGNORED_HEADERS.has(key)) {
    return false;
  }
  // Every ignored prefix starts with `x` or `l`, so most names need no prefix comparison.
  const first = key.charCodeAt(0);
  if (first !== 0x78 && first !== 0x6c) {
    return true;
  }
  return !IGNORED_HEADER_PREFIXES.some((prefix) => key.startsWith(prefix));
}

/**
 * Returns the values of the first {@link MAX_RECEIVED_HEADERS} Received fields among the first
 * {@link MAX_HEADERS}, each cut at {@link MAX_HEADER_VALUE_CHARS} and lower-cased. Both
 * {@link emitHeaderTokens} and `emitStructureTokens` read this text, so it is lower-cased once.
 */
export function lowerCaseReceived(headers: readonly HeaderField[]): string[] {
  const received: string[] = [];
  const end = Math.min(headers.length, MAX_HEADERS);
  for (let index = 0; index < end && received.length < MAX_RECEIVED_HEADERS; index += 1) {
    const field = headers[index];
    if (field.key === 'received') {
      received.push(field.value.slice(0, MAX_HEADER_VALUE_CHARS).toLowerCase());
    }
  }
  return received;
}

/**
 * Emits tokens for the top-level header fields: the presence of each field name, and for the
 * fields that identify the sender and the sending software, tokens prefixed by the field name.
 * `receivedLower`, when given, is `lowerCaseReceived(headers)`.
 */
export function emitHeaderTokens(
  headers: readonly HeaderField[],
  emit: EmitToken,
  receivedLower: readonly string[] = lowerCaseReceived(headers),
): void {
  let receivedCount = 0;
  for (const field of headers.slice(0, MAX_HEADERS)) {
    const key = field.key;
    if (!isTokenizedHeader(key) || key.length > 40) {
      continue;
    }
    emit('header:', key);
    const value = field.value.slice(0, MAX_HEADER_VALUE_CHARS);

    if (key === 'subject') {
      emitSubjectTokens(value, emit);
    } else if (ADDRESS_HEADERS.has(key)) {
      emitAddressTokens(key, value, emit);
    } else if (RECIPIENT_HEADERS.has(key)) {
      emitRecipientTokens(key, value, emit);
    } else if (CLIENT_HEADERS.has(key)) {
      emit(`${key}:`, toVersionShape(value));
    } else if (VALUE_HEADERS.has(key)) {
      emit(`${key}:`, value.trim().toLowerCase().slice(0, 40));
    } else if (key === 'content-type') {
      emitContentTypeTokens(value, emit);
    } else if (key === 'message-id') {
      emitMessageIdTokens(value, emit);
    } else if (key === 'received' && receivedCount < MAX_RECEIVED_HEADERS) {
      emitReceivedTokens(receivedLower[receivedCount], emit);
      receivedCount += 1;
    }
  }
}

function emitSubjectTokens(subject: string, emit: EmitToken): void {
  const words = subject.split(/[\s,;:"()[\]]+/).filter((word) => word.length > 0);
  for (const word of words) {
    const bare = word.replace(/^[^\p{L}\p{N}$]+|[^\p{L}\p{N}%$]+$/gu, '');
    if (DATE_LIKE.test(bare)) {
      emit('subject:date-like');
    } else if (bare.length > 0 && bare.length <= 20) {
      emit('subject:', bare.toLowerCase());
    }
    if (bare.length >= 3 && bare === bare.toUpperCase() && /\p{Lu}/u.test(bare)) {
      emit('subject:has-uppercase-word');
    }
  }
  if (subject.includes('!')) {
    emit('subject:has-exclamation');
  }
  if (/\s{3,}/.test(subject)) {
    emit('subject:has-wide-space');
  }
  if (subject.trim().length === 0) {
    emit('subject:empty');
  }
}

/** Emits display-name words, domain suffixes and the local-part shape of an address field. */
function emitAddressTokens(key: string, value: string, emit: EmitToken): void {
  const angle = /<([^>]*)>/.exec(value);
  const address = (angle ? angle[1] : value).trim().toLowerCase();
  const displayName = angle ? value.slice(0, angle.index).replace(/["']/g, '').trim() : '';

  if (displayName.length === 0) {
    emit(`${key}:no-display-name`);
  }
  for (const word of displayName
    .toLowerCase()
    .split(/[\s,.]+/)
    .slice(0, 8)) {
    if (word.length > 0) {
      emit(`${key}:name:`, word.slice(0, 20));
    }
  }

  const at = address.lastIndexOf('@');
  if (at < 0) {
    emit(`${key}:no-address`);
    return;
  }
  emit(`${key}:local-shape:`, toShape(address.slice(0, at)));
  for (const suffix of domainSuffixes(address.slice(at + 1))) {
    emit(`${key}:domain:`, suffix);
  }
}

function emitRecipientTokens(key: string, value: string, emit: EmitToken): void {
  const count = (value.match(/@/g) ?? []).length;
  emit(`${key}:count:${Math.min(count, 10)}`);
  if (/undisclosed|recipient list/i.test(value)) {
    emit(`${key}:undisclosed`);
  }
}

function emitContentTypeTokens(value: string, emit: EmitToken): void {
  // The media type itself is left out for the reason given in tokenize.ts for text parts.
  const lower = value.toLowerCase();
  const charset = /charset\s*=\s*"?([^";\s]+)/.exec(lower);
  if (charset) {
    emit('charset:', charset[1].slice(0, 30));
  }
  const boundary = /boundary\s*=\s*"?([^";]+)/i.exec(value);
  if (boundary) {
    emit('boundary:', toShape(boundary[1]).slice(0, 40));
  }
}

function emitMessageIdTokens(value: string, emit: EmitToken): void {
  const id = value.trim().replace(/^<|>$/g, '');
  const at = id.lastIndexOf('@');
  const local = at < 0 ? id : id.slice(0, at);
  emit('message-id:shape:', toShape(local).slice(0, 30));
  if (at < 0) {
    emit('message-id:no-domain');
    return;
  }
  const domain = id.slice(at + 1).toLowerCase();
  if (/^\[?[\d.]+\]?$/.test(domain)) {
    emit('message-id:domain-is-ip');
    return;
  }
  for (const suffix of domainSuffixes(domain, 2)) {
    emit('message-id:domain:', suffix);
  }
}

/**
 * Tokens for the client side of one Received field, given in lower case: the host name the
 * client announced, the host and address the receiving server recorded, and the transfer
 * protocol. The receiving host (`by`), dates and queue ids are left out, because they describe
 * the recipient's own servers and the moment of delivery rather than the sender. Hops from
 * loopback and private addresses, and local retrieval by IMAP or POP3, are skipped for the same
 * reason.
 */
function emitReceivedTokens(lower: string, emit: EmitToken): void {
  const byIndex = lower.search(/\bby\s/);
  const clientPart = byIndex < 0 ? lower : lower.slice(0, byIndex);
  const addresses: number[][] = [];
  IPV4.lastIndex = 0;
  for (let match = IPV4.exec(clientPart); match; match = IPV4.exec(clientPart)) {
    addresses.push([Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4])]);
  }
  const isLocalHop =
    addresses.length === 0 ||
    addresses.every(isPrivateAddress) ||
    /\bwith\s+(?:imap|pop3?)\b|\bfetchmail\b/.test(lower);
  if (isLocalHop) {
    return;
  }

  for (const host of new Set(findHostNames(clientPart, 4))) {
    for (const suffix of domainSuffixes(host, 2)) {
      emit('received:host:', suffix);
    }
  }
  for (const [first, second, third] of addresses.slice(0, 4)) {
    emit(`received:ip:${first}.${second}.${third}`);
    emit(`received:ip:${first}.${second}`);
  }
  const protocol = /\bwith\s+([a-z0-9/-]+)/.exec(lower);
  if (protocol) {
    emit('received:with:', protocol[1]);
  }
  const software = /\((postfix|microsoft smtpsvc|qmail|exim|sendmail|mdaemon|lotus)/.exec(lower);
  if (software) {
    emit('received:software:', software[1]);
  }
}

/**
 * Returns the first `limit` matches of `/[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.[a-z]{2,}/g` in
 * `text`, which a test compares with the regular expression. Labels are runs of `[a-z0-9-]`,
 * and each one after the first follows a dot. A match from a start takes the first label and
 * ends after the leading letters of the last label that begins with two or more letters, which
 * is where the expression's greedy quantifiers stop. When no label qualifies, no later start in
 * the same dotted run can match either, because it reads only some of those labels, so the
 * search goes on after the run.
 */
export function findHostNames(text: string, limit: number): string[] {
  const hosts: string[] = [];
  const length = text.length;
  let position = 0;
  while (position < length && hosts.length < limit) {
    if (!isLowerAlphanumeric(text.charCodeAt(position))) {
      position += 1;
      continue;
    }
    const start = position;
    let end = endOfLabel(text, position);
    let matchEnd = -1;
    while (
      end + 1 < length &&
      text.charCodeAt(end) === 0x2e &&
      isLabelCharacter(text.charCodeAt(end + 1))
    ) {
      const labelStart = end + 1;
      let lettersEnd = labelStart;
      while (lettersEnd < length && isLowerLetter(text.charCodeAt(lettersEnd))) {
        lettersEnd += 1;
      }
      if (lettersEnd - labelStart >= 2) {
        matchEnd = lettersEnd;
      }
      end = endOfLabel(text, labelStart);
    }
    if (matchEnd < 0) {
      position = end;
    } else {
      hosts.push(text.slice(start, matchEnd));
      position = matchEnd;
    }
  }
  return hosts;
}

function endOfLabel(text: string, start: number): number {
  let end = start;
  while (end < text.length && isLabelCharacter(text.charCodeAt(end))) {
    end += 1;
  }
  return end;
}

function isLowerLetter(code: number): boolean {
  return code >= 0x61 && code <= 0x7a;
}

function isLowerAlphanumeric(code: number): boolean {
  return isLowerLetter(code) || (code >= 0x30 && code <= 0x39);
}

function isLabelCharacter(code: number): boolean {
  return isLowerAlphanumeric(code) || code === 0x2d;
}

/** Loopback, private (RFC 1918), link-local and unspecified IPv4 addresses. */
function isPrivateAddress([first, second]: number[]): boolean {
  return (
    first === 0 ||
    first === 10 ||
    first === 127 ||
    (first === 169 && second === 254) ||
    (first === 172 && second >= 16 && second <= 31) ||
    (first === 192 && second === 168)
  );
}

/**
 * Lists the last 2, 3 and 4 labels of a host name, or only the first `limit` of those suffixes:
 * `a.b.example.com` gives `example.com` first. Empty labels are skipped, so `a..example.com.`
 * gives `example.com` and `a.example.com`.
 */
export function domainSuffixes(host: string, limit = 3): string[] {
  // Labels from the last one backwards, as many as the longest suffix needs.
  const maxLabels = Math.min(limit, 3) + 1;
  const labels: string[] = [];
  let end = host.length;
  for (let index = host.length - 1; index >= -1 && labels.length < maxLabels; index -= 1) {
    if (index < 0 || host.charCodeAt(index) === 0x2e) {
      if (end > index + 1) {
        labels.push(host.slice(index + 1, end));
      }
      end = index;
    }
  }
  const suffixes: string[] = [];
  let suffix = labels[0];
  for (let count = 2; count <= labels.length; count += 1) {
    suffix = `${labels[count - 1]}.${suffix}`;
    suffixes.push(suffix);
  }
  return suffixes;
}

/** Shape characters by class: none for other characters, then digits, lower and upper letters. */
const SHAPE_MARKS = ['', '9', 'a', 'A'];

/**
 * Collapses the first 80 characters of a string to their character-class shape: each run of
 * ASCII digits becomes `9`, of lower-case ASCII letters `a`, of upper-case ones `A`, and other
 * characters stay. One pass gives what replacing the three runs in turn with regular
 * expressions gives, because no replacement creates or joins a run of a later class.
 */
export function toShape(text: string): string {
  const end = Math.min(text.length, 80);
  let shape = '';
  let previousClass = 0;
  for (let index = 0; index < end; index += 1) {
    const code = text.charCodeAt(index);
    let characterClass = 0;
    if (code >= 0x30 && code <= 0x39) {
      characterClass = 1;
    } else if (code >= 0x61 && code <= 0x7a) {
      characterClass = 2;
    } else if (code >= 0x41 && code <= 0x5a) {
      characterClass = 3;
    }
    if (characterClass === 0) {
      shape += text[index];
    } else if (characterClass !== previousClass) {
      shape += SHAPE_MARKS[characterClass];
    }
    previousClass = characterClass;
  }
  return shape;
}

/** Lower-cases a client name and collapses its digits, so all versions share one token. */
function toVersionShape(value: string): string {
  return value
    .trim()
    .toLowerCase()
    .replace(/[0-9]+/g, '9')
    .slice(0, 60);
}
