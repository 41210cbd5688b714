import type { Deadline, Finding, MessageView } from '../types.js';

/** The Generic Test for Unsolicited Bulk Email, which SpamAssassin and other filters flag. */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

/** Bytes searched between two deadline checks. */
const DEADLINE_CHECK_BYTES = 1024 * 1024;

const SOFT_LINE_BREAK = /=\r?\n/g;

/**
 * Looks for GTUBE in the decoded text bodies, then in the raw message as sent and with its
 * quoted-printable soft line breaks removed (which also finds it in a part whose transfer
 * encoding was mislabelled). Returns at most one GTUBE finding, or a `limit.scan-timeout`
 * finding when the deadline passed before the raw message was searched to its end.
 */
export function findGtube(view: MessageView, deadline: Deadline, engine: string): Finding[] {
  const body = view.bodies.find((candidate) => candidate.text.includes(GTUBE));
  if (body) {
    return [gtubeFinding(engine, body.path, 'a text body')];
  }
  const search = searchRaw(view.raw, deadline);
  if (search === 'found') {
    return [gtubeFinding(engine, '', 'the raw message')];
  }
  if (search === 'timed-out') {
    return [
      {
        stage: 'antispam',
        engine,
        category: 'unscannable',
        signature: 'limit.scan-timeout',
        reason: 'the scan deadline passed before the raw message was searched for GTUBE',
        mimePath: '',
      },
    ];
  }
  return [];
}

/**
 * Searches the raw bytes for GTUBE with quoted-printable soft line breaks (`=` followed by CRLF
 * or LF) removed, so the string is found whether or not the encoder wrapped it. The message is
 * read in windows of about {@link DEADLINE_CHECK_BYTES} that end at a line end, so no soft break
 * straddles two windows, and the deadline is checked before each window. The last characters of
 * each cleaned window are carried into the next, so a match across windows is found too. In a
 * message of more than one window the searches are native string operations over a latin1 copy
 * of each window.
 */
function searchRaw(raw: Uint8Array, deadline: Deadline): 'found' | 'not-found' | 'timed-out' {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (bytes.length <= DEADLINE_CHECK_BYTES) {
    // A message of at most DEADLINE_CHECK_BYTES is one window of the loop below, so the deadline
    // is checked once. Searching its bytes while skipping soft line breaks, as the loop's replace
    // removes them, gives the same result without a string copy.
    if (deadline.expired()) {
      return 'timed-out';
    }
    return includesGtubeAcrossSoftBreaks(bytes) ? 'found' : 'not-found';
  }
  let carry = '';
  let start = 0;
  while (start < bytes.length) {
    if (deadline.expired()) {
      return 'timed-out';
    }
    const lineEnd = bytes.indexOf(0x0a, Math.min(start + DEADLINE_CHECK_BYTES, bytes.length - 1));
    const end = lineEnd < 0 ? bytes.length : lineEnd + 1;
    const window = carry + bytes.toString('latin1', start, end).replace(SOFT_LINE_BREAK, '');
    if (window.includes(GTUBE)) {
      return 'found';
    }
    carry = window.slice(-(GTUBE.length - 1));
    start = end;
  }
  return 'not-found';
}

const GTUBE_BYTES = Buffer.from(GTUBE, 'latin1');
const EQUALS = 0x3d;
const CR = 0x0d;
const LF = 0x0a;

/**
 * Tests whether the bytes, read as latin1 with every match of {@link SOFT_LINE_BREAK} removed,
 * contain GTUBE. GTUBE contains no `=`, CR or LF, so no removed break overlaps a character of a
 * match, and at any `=` inside a candidate the left-to-right replace would remove exactly the
 * `=\r?\n` that starts there. A candidate therefore starts at an `X` and matches GTUBE with those
 * breaks skipped. Most messages contain GTUBE's first character seldom, and a native search finds
 * each one.
 */
function includesGtubeAcrossSoftBreaks(bytes: Buffer): boolean {
  if (bytes.includes(GTUBE_BYTES)) {
    return true;
  }
  const first = GTUBE_BYTES[0];
  for (let start = bytes.indexOf(first); start >= 0; start = bytes.indexOf(first, start + 1)) {
    let position = start;
    let matched = 0;
    while (matched < GTUBE_BYTES.length && position < bytes.length) {
      const byte = bytes[position];
      if (byte === GTUBE_BYTES[matched]) {
        matched += 1;
        position += 1;
      } else if (byte === EQUALS && bytes[position + 1] === LF) {
        position += 2;
      } else if (byte === EQUALS && bytes[position + 1] === CR && bytes[position + 2] === LF) {
        position += 3;
      } else {
        break;
      }
    }
    if (matched === GTUBE_BYTES.length) {
      return true;
    }
  }
  return false;
}

function gtubeFinding(engine: string, mimePath: string, where: string): Finding {
  return {
    stage: 'antispam',
    engine,
    category: 'spam',
    signature: 'Spam.GTUBE',
    reason: `the GTUBE anti-spam test string was found in ${where}`,
    score: 1,
    mimePath,
  };
}
