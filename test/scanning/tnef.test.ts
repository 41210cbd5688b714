import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Deadline } from '../../src/scanning/types.js';
import { ExtractionBudget } from '../../src/scanning/extraction-budget.js';
import { extractTnef, isTnef } from '../../src/scanning/tnef.js';
import { createBudget, DEFAULT_LIMITS, makePart, signaturesOf } from './antivirus/test-support.js';

// Attribute ids with their data type in the high 16 bits, as Outlook writes them.
const ATT_TNEF_VERSION = 0x00089006;
const ATT_OEM_CODEPAGE = 0x00069007;
const ATT_MESSAGE_CLASS = 0x00078008;
const ATT_MSG_PROPS = 0x00069003;
const ATT_ATTACH_REND_DATA = 0x00069002;
const ATT_ATTACH_TITLE = 0x00018010;
const ATT_ATTACH_DATA = 0x0006800f;
const ATT_ATTACHMENT = 0x00069005;
const LEVEL_MESSAGE = 1;
const LEVEL_ATTACHMENT = 2;

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value >>> 0);
  return buffer;
}

function attribute(level: number, id: number, data: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUInt8(level, 0);
  header.writeUInt32LE(id, 1);
  header.writeUInt32LE(data.length, 5);
  const checksum = Buffer.alloc(2);
  checksum.writeUInt16LE(data.reduce((sum, byte) => (sum + byte) & 0xffff, 0));
  return Buffer.concat([header, data, checksum]);
}

function stream(attributes: Buffer[]): Buffer {
  return Buffer.concat([u32(0x223e9f78), Buffer.from([0x01, 0x00]), ...attributes]);
}

function messageAttributes(): Buffer[] {
  return [
    attribute(LEVEL_MESSAGE, ATT_TNEF_VERSION, u32(0x00010000)),
    attribute(LEVEL_MESSAGE, ATT_OEM_CODEPAGE, Buffer.concat([u32(1252), u32(0)])),
    attribute(LEVEL_MESSAGE, ATT_MESSAGE_CLASS, Buffer.from('IPM.Microsoft Mail.Note\0', 'latin1')),
  ];
}

function padded(bytes: Buffer): Buffer {
  return Buffer.concat([bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4)]);
}

/** Encodes one counted, sized, padded value, as variable-length MAPI properties are. */
function variableValue(bytes: Buffer): Buffer {
  return Buffer.concat([u32(1), u32(bytes.length), padded(bytes)]);
}

function unicodeProperty(id: number, value: string): Buffer {
  return Buffer.concat([
    u32((id << 16) | 0x001f),
    variableValue(Buffer.from(`${value}\0`, 'utf16le')),
  ]);
}

function string8Property(id: number, value: string): Buffer {
  return Buffer.concat([
    u32((id << 16) | 0x001e),
    variableValue(Buffer.from(`${value}\0`, 'latin1')),
  ]);
}

function binaryProperty(id: number, value: Buffer): Buffer {
  return Buffer.concat([u32((id << 16) | 0x0102), variableValue(value)]);
}

function objectProperty(id: number, value: Buffer): Buffer {
  return Buffer.concat([
    u32((id << 16) | 0x000d),
    variableValue(Buffer.concat([Buffer.alloc(16, 7), value])),
  ]);
}

function longProperty(id: number, value: number): Buffer {
  return Buffer.concat([u32((id << 16) | 0x0003), u32(value)]);
}

/** Encodes a named property (GUID, string name) with a 16-bit value padded to 4 bytes. */
function namedShortProperty(): Buffer {
  const name = padded(Buffer.from('Keywords\0', 'utf16le'));
  return Buffer.concat([
    u32((0x8005 << 16) | 0x0002),
    Buffer.alloc(16, 1),
    u32(1),
    u32(Buffer.byteLength('Keywords\0', 'utf16le')),
    name,
    u32(7),
  ]);
}

function propertyList(properties: Buffer[]): Buffer {
  return Buffer.concat([u32(properties.length), ...properties]);
}

function fileAttachment(title: string, data: Buffer, properties: Buffer[] = []): Buffer[] {
  const attributes = [
    attribute(LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA, Buffer.alloc(14)),
    attribute(LEVEL_ATTACHMENT, ATT_ATTACH_TITLE, Buffer.from(`${title}\0`, 'latin1')),
    attribute(LEVEL_ATTACHMENT, ATT_ATTACH_DATA, data),
  ];
  if (properties.length > 0) {
    attributes.push(attribute(LEVEL_ATTACHMENT, ATT_ATTACHMENT, propertyList(properties)));
  }
  return attributes;
}

function tnefPart(content: Buffer) {
  return makePart({
    path: '3',
    contentType: 'application/ms-tnef',
    filename: 'winmail.dat',
    content,
  });
}

describe('isTnef', () => {
  it('accepts both TNEF media types', () => {
    assert.equal(isTnef(makePart({ contentType: 'application/ms-tnef' })), true);
    assert.equal(isTnef(makePart({ contentType: 'application/vnd.ms-tnef' })), true);
  });

  it('accepts the signature under any type', () => {
    assert.equal(isTnef(makePart({ content: stream([]) })), true);
  });

  it('rejects other parts', () => {
    assert.equal(isTnef(makePart({ content: Buffer.from('hello') })), false);
  });
});

describe('extractTnef', () => {
  it('extracts attachments with titles and data', () => {
    const content = stream([
      ...messageAttributes(),
      ...fileAttachment('REPORT.PDF', Buffer.from('%PDF-1.7 first')),
      ...fileAttachment('INVOICE.EXE', Buffer.from('MZ second')),
    ]);
    const budget = createBudget();
    const parts = extractTnef(tnefPart(content), budget);

    assert.deepEqual(
      parts.map((part) => [part.path, part.filename, Buffer.from(part.content).toString()]),
      [
        ['3#tnef1', 'REPORT.PDF', '%PDF-1.7 first'],
        ['3#tnef2', 'INVOICE.EXE', 'MZ second'],
      ],
    );
    for (const part of parts) {
      assert.equal(part.origin, 'tnef');
      assert.equal(part.depth, 1);
      assert.equal(part.contentType, 'application/octet-stream');
      assert.equal(part.disposition, 'attachment');
    }
    assert.deepEqual(budget.findings, []);
  });

  it('prefers the long file name after a named property', () => {
    const content = stream([
      ...fileAttachment('INVOIC~1.PDF', Buffer.from('a'), [
        longProperty(0x0e20, 1),
        namedShortProperty(),
        unicodeProperty(0x3001, 'Invoice'),
        unicodeProperty(0x3707, 'Invoice 2024 final.pdf.exe'),
        string8Property(0x370e, 'Application/PDF; name=x'),
      ]),
    ]);
    const budget = createBudget();
    const [part] = extractTnef(tnefPart(content), budget);
    assert.equal(part?.filename, 'Invoice 2024 final.pdf.exe');
    assert.equal(part?.contentType, 'application/pdf');
    assert.deepEqual(budget.findings, []);
  });

  it('reads an 8-bit long file name', () => {
    const content = stream(
      fileAttachment('A.TXT', Buffer.from('a'), [string8Property(0x3707, 'résumé.docm')]),
    );
    assert.equal(extractTnef(tnefPart(content), createBudget())[0]?.filename, 'résumé.docm');
  });

  it('falls back to the display name', () => {
    const content = stream([
      attribute(LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA, Buffer.alloc(14)),
      attribute(LEVEL_ATTACHMENT, ATT_ATTACH_DATA, Buffer.from('x')),
      attribute(
        LEVEL_ATTACHMENT,
        ATT_ATTACHMENT,
        propertyList([unicodeProperty(0x3001, 'shown.js')]),
      ),
    ]);
    assert.equal(extractTnef(tnefPart(content), createBudget())[0]?.filename, 'shown.js');
  });

  it('skips message attributes and attMsgProps', () => {
    const content = stream([
      ...messageAttributes(),
      attribute(
        LEVEL_MESSAGE,
        ATT_MSG_PROPS,
        propertyList([unicodeProperty(0x0037, 'subject'), longProperty(0x0017, 1)]),
      ),
      ...fileAttachment('A.TXT', Buffer.from('attached')),
    ]);
    const budget = createBudget();
    const parts = extractTnef(tnefPart(content), budget);
    assert.deepEqual(
      parts.map((part) => part.filename),
      ['A.TXT'],
    );
    assert.deepEqual(budget.findings, []);
  });

  it('reads attachment data from PR_ATTACH_DATA_BIN', () => {
    const content = stream([
      attribute(LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA, Buffer.alloc(14)),
      attribute(
        LEVEL_ATTACHMENT,
        ATT_ATTACHMENT,
        propertyList([
          binaryProperty(0x3701, Buffer.from('from property')),
          unicodeProperty(0x3707, 'p.bin'),
        ]),
      ),
    ]);
    const [part] = extractTnef(tnefPart(content), createBudget());
    assert.equal(Buffer.from(part?.content ?? []).toString(), 'from property');
  });

  it('returns an embedded message as a TNEF part', () => {
    const embedded = stream(fileAttachment('INNER.EXE', Buffer.from('MZ inner')));
    const content = stream([
      attribute(LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA, Buffer.alloc(14)),
      attribute(
        LEVEL_ATTACHMENT,
        ATT_ATTACHMENT,
        propertyList([
          longProperty(0x3705, 5),
          unicodeProperty(0x3001, 'Forwarded'),
          objectProperty(0x3701, embedded),
        ]),
      ),
    ]);
    const [part] = extractTnef(tnefPart(content), createBudget());
    assert.equal(part?.contentType, 'application/vnd.ms-tnef');
    assert.ok(part);
    assert.equal(isTnef(part), true);
    const inner = extractTnef(part, createBudget());
    assert.equal(inner[0]?.path, '3#tnef1#tnef1');
    assert.equal(inner[0]?.filename, 'INNER.EXE');
    assert.equal(inner[0]?.depth, 2);
  });

  it('reports a truncated stream and keeps what was read', () => {
    const whole = stream([
      ...fileAttachment('FIRST.TXT', Buffer.from('first')),
      ...fileAttachment('SECOND.TXT', Buffer.alloc(1000, 0x41)),
    ]);
    const budget = createBudget();
    const parts = extractTnef(tnefPart(whole.subarray(0, whole.length - 500)), budget);

    assert.deepEqual(signaturesOf(budget.findings), ['tnef.corrupt']);
    assert.equal(budget.findings[0]?.category, 'unscannable');
    assert.equal(budget.findings[0]?.mimePath, '3');
    assert.deepEqual(
      parts.map((part) => part.filename),
      ['FIRST.TXT', 'SECOND.TXT'],
    );
    assert.equal(parts[1]?.content.length, 0);
  });

  it('reports a length past the end', () => {
    const bogus = Buffer.alloc(9);
    bogus.writeUInt8(LEVEL_ATTACHMENT, 0);
    bogus.writeUInt32LE(ATT_ATTACH_DATA, 1);
    bogus.writeUInt32LE(0xfffffff0, 5);
    const content = Buffer.concat([
      stream(fileAttachment('OK.TXT', Buffer.from('ok'))),
      bogus,
      Buffer.alloc(40),
    ]);
    const budget = createBudget();
    const parts = extractTnef(tnefPart(content), budget);

    assert.deepEqual(signaturesOf(budget.findings), ['tnef.corrupt']);
    assert.deepEqual(
      parts.map((part) => part.filename),
      ['OK.TXT'],
    );
  });

  it('reports a missing signature', () => {
    const budget = createBudget();
    assert.deepEqual(extractTnef(tnefPart(Buffer.from('not tnef at all')), budget), []);
    assert.deepEqual(signaturesOf(budget.findings), ['tnef.corrupt']);
  });

  it('reports a malformed property list and keeps the attachment', () => {
    const broken = Buffer.concat([u32(3), u32((0x3707 << 16) | 0x001f), u32(1), u32(5000)]);
    const content = stream([
      ...fileAttachment('KEPT.TXT', Buffer.from('kept')),
      attribute(LEVEL_ATTACHMENT, ATT_ATTACHMENT, broken),
    ]);
    const budget = createBudget();
    const parts = extractTnef(tnefPart(content), budget);
    assert.deepEqual(signaturesOf(budget.findings), ['tnef.corrupt']);
    assert.equal(parts[0]?.filename, 'KEPT.TXT');
  });

  it('stops at the decoded bytes limit', () => {
    const content = stream([
      ...fileAttachment('A.BIN', Buffer.alloc(600)),
      ...fileAttachment('B.BIN', Buffer.alloc(600)),
    ]);
    const budget = createBudget({ maxDecodedBytes: 1000 });
    const parts = extractTnef(tnefPart(content), budget);
    assert.deepEqual(
      parts.map((part) => part.filename),
      ['A.BIN'],
    );
    assert.deepEqual(signaturesOf(budget.findings), ['limit.decoded-bytes']);
  });

  it('stops after 1000 attachments', () => {
    const attributes = Array.from({ length: 1005 }, (_, i) =>
      fileAttachment(`F${i}.TXT`, Buffer.from('x')),
    ).flat();
    const budget = createBudget();
    const parts = extractTnef(tnefPart(stream(attributes)), budget);
    assert.equal(parts.length, 1000);
    assert.deepEqual(signaturesOf(budget.findings), ['limit.tnef-attachments']);
  });

  it('stops at an expired deadline', () => {
    const expired: Deadline = { expiresAt: 0, expired: () => true };
    const budget = new ExtractionBudget(DEFAULT_LIMITS, expired);
    const content = stream(fileAttachment('A.TXT', Buffer.from('a')));
    assert.deepEqual(extractTnef(tnefPart(content), budget), []);
    assert.deepEqual(signaturesOf(budget.findings), ['limit.scan-timeout']);
  });

  it('never throws on mutated streams', () => {
    const valid = stream([
      ...messageAttributes(),
      ...fileAttachment('A.TXT', Buffer.from('first'), [unicodeProperty(0x3707, 'long name.txt')]),
      ...fileAttachment('B.TXT', Buffer.from('second')),
    ]);
    for (let round = 0; round < 2000; round += 1) {
      const mutated = Buffer.from(valid);
      for (let flips = 0; flips < 4; flips += 1) {
        mutated[4 + Math.floor(Math.random() * (mutated.length - 4))] = Math.floor(
          Math.random() * 256,
        );
      }
      extractTnef(tnefPart(mutated), createBudget());
    }
  });
});
