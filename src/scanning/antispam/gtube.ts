import type { Deadline, Finding, MessageView } from '../types.js';

/** The Generic Test for Unsolicited Bulk Email, which SpamAssassin and most filters flag as spam. */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

/** Bytes of raw message decoded and searched at a time. */
const WINDOW_BYTES = 1024 * 1024;
/**
 * Bytes shared by consecutive windows. The GTUBE string is 68 characters, and with a
 * quoted-printable soft line break (`=\r\n`, 3 bytes) after every character it spans at most
 * 68 + 67 * 3 = 269 bytes, so an overlap of 512 never cuts it in two.
 */
const WINDOW_OVERLAP = 512;
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

function searchRaw(raw: Uint8Array, deadline: Deadline): 'found' | 'not-found' | 'timed-out' {
  const buffer = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (buffer.indexOf(GTUBE, 0, 'latin1') >= 0) {
    return 'found';
  }
  for (let start = 0; start < buffer.length; start += WINDOW_BYTES - WINDOW_OVERLAP) {
    if (deadline.expired()) {
      return 'timed-out';
    }
    const window = buffer.toString('latin1', start, Math.min(start + WINDOW_BYTES, buffer.length));
    if (window.includes('=') && window.replace(SOFT_LINE_BREAK, '').includes(GTUBE)) {
      return 'found';
    }
    if (start + WINDOW_BYTES >= buffer.length) {
      break;
    }
  }
  return 'not-found';
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
