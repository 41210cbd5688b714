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
 * each cleaned window are carried into the next, so a match across windows is found too. The
 * searches themselves are native string operations over a latin1 copy of each window.
 */
function searchRaw(raw: Uint8Array, deadline: Deadline): 'found' | 'not-found' | 'timed-out' {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (bytes.length <= DEADLINE_CHECK_BYTES && !hasSoftLineBreak(bytes)) {
    // Without a soft line break the cleaned text equals the raw bytes, and a message of at most
    // DEADLINE_CHECK_BYTES is one window checked against the deadline once, so a native search
    // of the bytes returns the same result as the loop below, without a string copy.
    if (deadline.expired()) {
      return 'timed-out';
    }
    return bytes.includes(GTUBE, 0, 'latin1') ? 'found' : 'not-found';
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

/**
 * Returns true when the bytes contain `=` followed by LF or by CRLF, which is every match of
 * {@link SOFT_LINE_BREAK}, so that without one the replace in {@link searchRaw} changes nothing.
 */
function hasSoftLineBreak(bytes: Buffer): boolean {
  return bytes.includes('=\n', 0, 'latin1') || bytes.includes('=\r\n', 0, 'latin1');
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
