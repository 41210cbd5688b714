import type { Deadline, Finding, MessageView } from '../types.js';

/** The Generic Test for Unsolicited Bulk Email, which SpamAssassin and other filters flag. */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

const GTUBE_BYTES = Buffer.from(GTUBE, 'latin1');
/** Bytes searched between two deadline checks. */
const DEADLINE_CHECK_BYTES = 1024 * 1024;

/** Knuth-Morris-Pratt failure table: the longest proper prefix of GTUBE that ends at each index. */
const FAILURE = buildFailureTable(GTUBE_BYTES);

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
 * Searches the raw bytes for GTUBE in one pass with Knuth-Morris-Pratt matching, skipping every
 * quoted-printable soft line break (`=` followed by CRLF or LF), so the string is found whether or
 * not the encoder wrapped it. The deadline is checked every {@link DEADLINE_CHECK_BYTES}.
 */
function searchRaw(raw: Uint8Array, deadline: Deadline): 'found' | 'not-found' | 'timed-out' {
  let matched = 0;
  for (let index = 0; index < raw.length; index += 1) {
    if (index % DEADLINE_CHECK_BYTES === 0 && deadline.expired()) {
      return 'timed-out';
    }
    const byte = raw[index];
    if (byte === 0x3d && raw[index + 1] === 0x0a) {
      index += 1;
      continue;
    }
    if (byte === 0x3d && raw[index + 1] === 0x0d && raw[index + 2] === 0x0a) {
      index += 2;
      continue;
    }
    while (matched > 0 && byte !== GTUBE_BYTES[matched]) {
      matched = FAILURE[matched - 1];
    }
    if (byte === GTUBE_BYTES[matched]) {
      matched += 1;
      if (matched === GTUBE_BYTES.length) {
        return 'found';
      }
    }
  }
  return 'not-found';
}

function buildFailureTable(pattern: Uint8Array): Uint8Array {
  const table = new Uint8Array(pattern.length);
  let length = 0;
  for (let index = 1; index < pattern.length; index += 1) {
    while (length > 0 && pattern[index] !== pattern[length]) {
      length = table[length - 1];
    }
    if (pattern[index] === pattern[length]) {
      length += 1;
    }
    table[index] = length;
  }
  return table;
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
