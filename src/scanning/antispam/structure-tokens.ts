import type { HeaderField } from '../types.js';
import { lowerCaseReceived } from './header-tokens.js';
import type { EmitToken } from './token-sink.js';

const MAX_HEADERS = 200;
const MAX_HEADER_VALUE_CHARS = 1000;
const HOUR_MS = 3_600_000;

/** A Date field that begins with a day name, as RFC 5322 allows and most clients write. */
const WEEKDAY_PREFIX = /^(?:mon|tue|wed|thu|fri|sat|sun),/i;
/** The zone at the end of a Date field, numeric (`-0500`) or a name (`EST`), then a comment. */
const DATE_ZONE = /([+-]\d{4}|[a-z]{1,5})\s*(?:\([^)]*\))?$/i;
/** `2 Jan 02 `: a two-digit year, which RFC 5322 marks obsolete. */
const TWO_DIGIT_YEAR = /\b\d{1,2} [a-z]{3} \d{2} /i;
/** A client whose address has no reverse DNS name, as Postfix and Sendmail record it. */
const UNKNOWN_RDNS = /\(unknown \[\d|^from unknown\b/;
/** A client that announced an IPv4 address instead of a host name in HELO. */
const HELO_IS_IP = /^from \[?\d+\.\d+\.\d+\.\d+\]?[\s(]/;
/** `from HELO-NAME (RDNS-NAME [address]`: the announced name and the one DNS gave. */
const HELO_AND_RDNS = /^from ([a-z0-9.-]+)\s*\(([a-z0-9.-]+)\s*\[/;

/**
 * Emits tokens for how a message's own header fields fit together, which word statistics miss
 * and which spam tools of every period get wrong: a Message-ID domain that is not the From
 * domain, a Date far from the time the message arrived or in an unusual format, and relays
 * without reverse DNS or with a HELO name that DNS does not confirm. The classifier learns how
 * much each is worth from the training messages. `receivedLower`, when given, is
 * `lowerCaseReceived(headers)`.
 */
export function emitStructureTokens(
  headers: readonly HeaderField[],
  emit: EmitToken,
  receivedLower: readonly string[] = lowerCaseReceived(headers),
): void {
  let from: string | undefined;
  let messageId: string | undefined;
  let date: string | undefined;
  for (const field of headers.slice(0, MAX_HEADERS)) {
    const key = field.key;
    if (key === 'from') {
      from ??= field.value.slice(0, MAX_HEADER_VALUE_CHARS);
    } else if (key === 'message-id') {
      messageId ??= field.value.slice(0, MAX_HEADER_VALUE_CHARS);
    } else if (key === 'date') {
      date ??= field.value.slice(0, MAX_HEADER_VALUE_CHARS);
    }
  }

  const fromDomain = from === undefined ? undefined : addressDomain(from);
  const idDomain = messageId === undefined ? undefined : addressDomain(messageId);
  if (fromDomain !== undefined && idDomain !== undefined) {
    emit(idDomain === fromDomain ? 'meta:msgid=from' : 'meta:msgid!=from');
  }
  if (date !== undefined) {
    emitDateTokens(date.trim(), receivedLower[0], emit);
  }
  for (const hop of receivedLower) {
    emitRelayTokens(hop, emit);
  }
}

/**
 * Tokens for the Date field's format and for how far it lies from the time in the topmost
 * Received field, which the receiving server wrote. Spam tools often set a false or stale date.
 */
function emitDateTokens(date: string, topReceived: string | undefined, emit: EmitToken): void {
  if (!WEEKDAY_PREFIX.test(date)) {
    emit('meta:date-no-weekday');
  }
  const zone = DATE_ZONE.exec(date);
  if (!zone) {
    emit('meta:date-no-zone');
  } else if (zone[1].startsWith('+') || zone[1].startsWith('-')) {
    // Every zone in use is a whole hour or 30 or 45 minutes off UTC.
    const minutes = Number(zone[1].slice(3));
    if (minutes !== 0 && minutes !== 30 && minutes !== 45) {
      emit('meta:date-odd-zone');
    }
  } else {
    emit('meta:date-named-zone');
  }
  if (TWO_DIGIT_YEAR.test(date)) {
    emit('meta:date-two-digit-year');
  }

  const sent = Date.parse(date);
  if (Number.isNaN(sent)) {
    emit('meta:date-invalid');
    return;
  }
  const semicolon = topReceived === undefined ? -1 : topReceived.lastIndexOf(';');
  const arrived = semicolon < 0 ? NaN : Date.parse(topReceived!.slice(semicolon + 1).trim());
  if (Number.isNaN(arrived)) {
    return;
  }
  // Two hours of tolerance covers clocks set a little wrong and zones set an hour wrong.
  const hours = (arrived - sent) / HOUR_MS;
  if (hours < -2) {
    emit('meta:date-future');
  } else if (hours > 24 * 7) {
    emit('meta:date-week-old');
  }
}

/** Tokens for one Received field (lower case): relays without a verified host name. */
function emitRelayTokens(hop: string, emit: EmitToken): void {
  if (UNKNOWN_RDNS.test(hop)) {
    emit('meta:received-unknown-rdns');
  }
  if (HELO_IS_IP.test(hop)) {
    emit('meta:received-helo-ip');
  }
  const names = HELO_AND_RDNS.exec(hop);
  if (names && names[1].includes('.') && names[2].includes('.')) {
    const agree = registeredDomain(names[1]) === registeredDomain(names[2]);
    emit(agree ? 'meta:helo=rdns' : 'meta:helo!=rdns');
  }
}

/** The registered domain of the address in a From or Message-ID field, if it has one. */
function addressDomain(value: string): string | undefined {
  const angle = /<([^>]*)>/.exec(value);
  const address = (angle ? angle[1] : value).trim().toLowerCase();
  const at = address.lastIndexOf('@');
  if (at < 0) {
    return undefined;
  }
  const host = /^[a-z0-9.-]+/.exec(address.slice(at + 1))?.[0] ?? '';
  return host.includes('.') ? registeredDomain(host) : undefined;
}

/**
 * Estimates the registered domain of a host: its last two labels, or three when the last is a
 * country code and the one before it is short (`example.co.uk`).
 * NOTE: this is a heuristic rather than the Public Suffix List, which tldts would give at a
 * higher cost per call. It errs on hosts like `example.de.com` and `city.state.us`.
 */
function registeredDomain(host: string): string {
  // The non-empty labels from the last one backwards, up to three, as `split('.')` without its
  // empty labels would give them.
  const labels: string[] = [];
  let end = host.length;
  for (let index = host.length - 1; index >= -1 && labels.length < 3; index -= 1) {
    if (index < 0 || host.charCodeAt(index) === 0x2e) {
      if (end > index + 1) {
        labels.push(host.slice(index + 1, end));
      }
      end = index;
    }
  }
  const [last = '', second, third] = labels;
  if (second === undefined) {
    return last;
  }
  if (third === undefined) {
    return `${second}.${last}`;
  }
  const keepThree = last.length === 2 && second.length <= 3;
  return keepThree ? `${third}.${second}.${last}` : `${second}.${last}`;
}
