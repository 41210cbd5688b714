import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { loadSettings } from '../../src/config/settings.js';
import { buildPreview } from '../../src/quarantine/quarantine-preview.js';
import { buildMessageFacts } from '../../src/rules/message-facts.js';
import { EICAR } from '../../src/samples/samples.js';
import { tokenize } from '../../src/scanning/antispam/tokenize.js';
import { readHeaderBlock } from '../../src/scanning/header-block.js';
import {
  hasLoneCarriageReturn,
  readLoneCarriageReturnsAsLineFeeds,
} from '../../src/scanning/line-breaks.js';
import type { Pipeline, ScanOutcome } from '../../src/scanning/pipeline.js';
import { normalizeTransferEncoding } from '../../src/scanning/transfer-encoding.js';
import * as evasion from '../fixtures/evasion-mail.js';
import { BASE_HEADERS, crlf, toBytes, uuencode } from '../fixtures/hostile-mail.js';
import { createTestPipeline } from '../helpers/pipeline.js';
import { buildZip, unicodePathField } from './antivirus/zip-builder.js';

let pipeline: Pipeline;

before(async () => {
  pipeline = await createTestPipeline({ MAILSWEEP_SPAM_THRESHOLD: '0.999' });
});

async function scan(text: string | Uint8Array): Promise<ScanOutcome> {
  return pipeline.scan(typeof text === 'string' ? toBytes(text) : text);
}

function signatures(outcome: ScanOutcome): string[] {
  return outcome.verdict.findings.map((finding) => finding.signature);
}

function findingAt(outcome: ScanOutcome, signature: string): string | undefined {
  return outcome.verdict.findings.find((finding) => finding.signature === signature)?.mimePath;
}

describe('lone carriage returns', () => {
  it('finds EICAR in a message with CR line ends', async () => {
    const outcome = await scan(evasion.mixedWithEicar().join('\r'));
    assert.equal(outcome.verdict.category, 'malware');
    assert.ok(signatures(outcome).includes('Eicar-Test-Signature'));
    assert.ok(outcome.defects.includes('bare-cr-line-ends'));
  });

  it('reads the headers of the line-end reading', async () => {
    const outcome = await scan(evasion.mixedWithEicar().join('\r'));
    assert.equal(outcome.view.subject, 'evasion');
  });

  it('finds EICAR in a base64 nested message with CR line ends', async () => {
    const nested = Buffer.from(evasion.mixedWithEicar().join('\r'), 'latin1').toString('base64');
    const outer = [
      ...BASE_HEADERS,
      'Subject: forwarded',
      'Content-Type: multipart/mixed; boundary="OUT"',
      '',
      '--OUT',
      'Content-Type: text/plain',
      '',
      'see attached',
      '--OUT',
      'Content-Type: message/rfc822',
      'Content-Transfer-Encoding: base64',
      '',
      ...(nested.match(/.{1,76}/g) ?? []),
      '--OUT--',
      '',
    ];
    const outcome = await scan(crlf(outer));
    assert.equal(outcome.verdict.category, 'malware');
    assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '2#lf/2');
    assert.ok(outcome.defects.includes('bare-cr-line-ends'));
  });

  it('records no defect for CRLF and LF messages', async () => {
    for (const lineBreak of ['\r\n', '\n']) {
      const outcome = await scan(evasion.mixedWithEicar().join(lineBreak));
      assert.equal(outcome.verdict.category, 'malware', JSON.stringify(lineBreak));
      assert.ok(!outcome.defects.includes('bare-cr-line-ends'), JSON.stringify(lineBreak));
    }
  });

  it('detects a lone CR anywhere', () => {
    assert.equal(hasLoneCarriageReturn(toBytes('a\r\nb\r\n')), false);
    assert.equal(hasLoneCarriageReturn(toBytes('a\nb')), false);
    assert.equal(hasLoneCarriageReturn(toBytes('a\r\nb\rc')), true);
    assert.equal(hasLoneCarriageReturn(toBytes('a\r\r\n')), true);
    assert.equal(hasLoneCarriageReturn(toBytes('a\r')), true);
  });

  it('turns only lone CRs into line feeds', () => {
    const reading = readLoneCarriageReturnsAsLineFeeds(toBytes('a\rb\r\nc\r\r\n\xff'));
    assert.equal(Buffer.from(reading).toString('latin1'), 'a\nb\r\nc\n\r\n\xff');
  });
});

describe('duplicate structure headers', () => {
  it('marks a Content-Type with space before its colon', async () => {
    const outcome = await scan(
      crlf(evasion.withContentTypes(['Content-Type : multipart/mixed; boundary="Z"'])),
    );
    assert.equal(outcome.verdict.category, 'unscannable');
    assert.equal(findingAt(outcome, 'mime.ambiguous-structure'), '1');
    const reasons = outcome.verdict.findings.map((finding) => finding.reason).join(' ');
    assert.match(reasons, /white space before its colon/);
  });

  it('marks two different Content-Types unscannable', async () => {
    const outcome = await scan(
      crlf(evasion.withContentTypes([
        'Content-Type: text/plain',
        'Content-Type: multipart/mixed; boundary="Z"',
      ])),
    );
    assert.equal(outcome.verdict.category, 'unscannable');
    assert.equal(findingAt(outcome, 'mime.ambiguous-structure'), '1');
    assert.ok(outcome.defects.includes('ambiguous-structure-header'));
  });

  it('marks two different boundaries unscannable', async () => {
    const outcome = await scan(
      crlf(evasion.withContentTypes(['Content-Type: multipart/mixed; boundary="Y"; boundary="Z"'])),
    );
    assert.equal(outcome.verdict.category, 'unscannable');
    assert.ok(signatures(outcome).includes('mime.ambiguous-structure'));
  });

  it('marks two transfer encodings of a part unscannable', async () => {
    const text = crlf(
      evasion.mixedWithEicar('Content-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64'),
    );
    const outcome = await scan(text);
    assert.equal(outcome.verdict.category, 'unscannable');
    assert.equal(findingAt(outcome, 'mime.ambiguous-structure'), '2');
  });

  it('marks two different filenames unscannable', async () => {
    const text = crlf([
      ...BASE_HEADERS,
      'Subject: names',
      'Content-Type: application/pdf',
      'Content-Disposition: attachment; filename="report.pdf"; filename="report.exe"',
      '',
      'body',
    ]);
    const outcome = await scan(text);
    assert.ok(signatures(outcome).includes('mime.ambiguous-structure'));
  });

  it('accepts a repeated header with the same value', async () => {
    const outcome = await scan(
      crlf(evasion.withContentTypes([
        'Content-Type: multipart/mixed; boundary="Z"',
        'Content-Type: multipart/mixed;  boundary="Z"',
      ])),
    );
    assert.equal(outcome.verdict.category, 'malware');
    assert.ok(!signatures(outcome).includes('mime.ambiguous-structure'));
  });

  it('marks an encoded-word media type unscannable', async () => {
    const contentTypes = [
      'Content-Type: =?us-ascii?Q?multipart/mixed?=; boundary="Z"',
      'Content-Type: =?us-ascii?Q?multipart/mixed=3B_boundary=3D=22Z=22?=',
      'Content-Type: =?us-ascii?B?bXVsdGlwYXJ0L21peGVk?=; boundary="Z"',
    ];
    for (const contentType of contentTypes) {
      const outcome = await scan(crlf(evasion.withContentTypes([contentType])));
      assert.equal(outcome.verdict.category, 'unscannable', contentType);
      assert.equal(findingAt(outcome, 'mime.ambiguous-structure'), '1', contentType);
    }
  });

  it('marks an encoded-word message/rfc822 unscannable', async () => {
    const text = crlf([
      ...BASE_HEADERS,
      'Subject: forwarded',
      'Content-Type: multipart/mixed; boundary="OUT"',
      '',
      '--OUT',
      'Content-Type: =?us-ascii?Q?message/rfc822?=',
      '',
      ...evasion.mixedWithEicar(),
      '--OUT--',
      '',
    ]);
    const outcome = await scan(text);
    assert.equal(outcome.verdict.category, 'unscannable');
    assert.equal(findingAt(outcome, 'mime.ambiguous-structure'), '1');
  });

  it('marks an encoded-word transfer encoding unscannable', async () => {
    const text = crlf(
      evasion.mixedWithEicar('Content-Transfer-Encoding: =?us-ascii?Q?base64?='),
    );
    const outcome = await scan(text);
    assert.equal(outcome.verdict.category, 'unscannable');
    assert.equal(findingAt(outcome, 'mime.ambiguous-structure'), '2');
  });

  it('accepts an encoded-word attachment name', async () => {
    const text = crlf([
      ...BASE_HEADERS,
      'Subject: names',
      'Content-Type: application/pdf; name="=?utf-8?Q?r=C3=A9.pdf?="',
      '',
      'body',
    ]);
    const outcome = await scan(text);
    assert.ok(!signatures(outcome).includes('mime.ambiguous-structure'));
  });

  it('marks boundary and boundary* that differ unscannable', async () => {
    const contentTypes = [
      "Content-Type: multipart/mixed; boundary=\"P\"; boundary*=''Z",
      'Content-Type: multipart/mixed; boundary="P"; boundary*0="Z"',
      "Content-Type: multipart/mixed; boundary*=us-ascii''Z; boundary=\"P\"",
    ];
    for (const contentType of contentTypes) {
      const outcome = await scan(crlf(evasion.withContentTypes([contentType])));
      assert.equal(outcome.verdict.category, 'unscannable', contentType);
      assert.ok(signatures(outcome).includes('mime.ambiguous-structure'), contentType);
    }
  });

  it('accepts boundary repeated as the same boundary*', async () => {
    const contentType = "Content-Type: multipart/mixed; boundary=\"Z\"; boundary*=us-ascii'en'%5A";
    const outcome = await scan(crlf(evasion.withContentTypes([contentType])));
    assert.equal(outcome.verdict.category, 'malware');
    assert.ok(!signatures(outcome).includes('mime.ambiguous-structure'));
  });

  it('accepts a filename repeated in RFC 2231 form', async () => {
    const text = crlf([
      ...BASE_HEADERS,
      'Subject: names',
      'Content-Type: application/pdf',
      "Content-Disposition: attachment; filename=\"r.pdf\"; filename*=utf-8''r%C3%A9.pdf",
      '',
      'body',
    ]);
    const outcome = await scan(text);
    assert.ok(!signatures(outcome).includes('mime.ambiguous-structure'));
  });
});

describe('multiparts without usable parts', () => {
  it('marks a multipart whose boundary never appears unscannable', async () => {
    const text = crlf(evasion.mixedWithEicar()).replace('boundary="Z"', 'boundary="AAA"');
    const outcome = await scan(text);
    assert.equal(outcome.verdict.category, 'unscannable');
    assert.equal(findingAt(outcome, 'mime.multipart-without-parts'), '1');
    assert.ok(outcome.defects.includes('multipart-without-parts'));
  });

  it('lets antivirus see the body of a multipart without parts', async () => {
    const eicar = Buffer.from(EICAR).toString('latin1');
    const text = crlf([...BASE_HEADERS, 'Content-Type: multipart/mixed; boundary="Q"', '', eicar]);
    const outcome = await scan(text);
    assert.equal(outcome.verdict.category, 'malware');
    assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '1#outside-parts');
  });

  it('marks a multipart without boundary and with delimiters unscannable', async () => {
    const text = crlf(evasion.mixedWithEicar()).replace('; boundary="Z"', '');
    const outcome = await scan(text);
    assert.equal(outcome.verdict.category, 'unscannable');
    assert.ok(signatures(outcome).includes('mime.multipart-without-boundary'));
    assert.ok(outcome.defects.includes('multipart-without-boundary'));
  });

  it('reads a multipart without boundary or delimiters as text', async () => {
    const text = crlf([...BASE_HEADERS, 'Content-Type: multipart/mixed', '', 'just a note']);
    const outcome = await scan(text);
    assert.equal(outcome.verdict.category, 'clean');
    assert.ok(outcome.defects.includes('multipart-without-boundary'));
  });
});

describe('transfer encodings', () => {
  for (const value of ['"base64"', 'BASE64 ', 'base64 (encoded)', '(x) "Base64"']) {
    it(`decodes Content-Transfer-Encoding ${value}`, async () => {
      const outcome = await scan(crlf(evasion.mixedWithEicar(`Content-Transfer-Encoding: ${value}`)));
      assert.equal(outcome.verdict.category, 'malware');
      assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '2');
    });
  }

  it('marks an unknown transfer encoding unscannable', async () => {
    const outcome = await scan(crlf(evasion.mixedWithEicar('Content-Transfer-Encoding: x-bogus')));
    assert.equal(outcome.verdict.category, 'unscannable');
    assert.equal(findingAt(outcome, 'encoding.unknown'), '2');
    assert.ok(outcome.defects.includes('unknown-transfer-encoding'));
  });

  it('normalizes quotes, comments, case and spaces', () => {
    assert.equal(normalizeTransferEncoding(' "Quoted-Printable" '), 'quoted-printable');
    assert.equal(normalizeTransferEncoding('base64 (a (nested) comment)'), 'base64');
    assert.equal(normalizeTransferEncoding('x-bogus'), 'x-bogus');
  });
});

describe('content outside parts', () => {
  for (const where of ['preamble', 'epilogue'] as const) {
    it(`finds EICAR in the ${where}`, async () => {
      const outcome = await scan(crlf(evasion.eicarOutsideParts(where)));
      assert.equal(outcome.verdict.category, 'malware');
      assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '1#outside-parts');
    });
  }

  it('keeps the outside text out of attachment counts', async () => {
    const text = crlf(evasion.eicarOutsideParts('preamble'));
    const { view } = await scan(text);
    const outside = view.parts.filter((part) => part.origin === 'outside-parts');
    assert.equal(outside.length, 1);
    const facts = await buildMessageFacts(view, { bodies: false, trueTypes: false });
    assert.equal(facts.attachmentCount, 0);
    assert.ok(tokenize(view).has('part:count:1'));
    const preview = await buildPreview(toBytes(text), [], loadSettings({}).limits);
    assert.deepEqual(preview.attachments, []);
  });

  it('adds no part for a blank preamble', async () => {
    const text = crlf(evasion.eicarOutsideParts('preamble')).replace(
      Buffer.from(EICAR).toString('latin1'),
      '  ',
    );
    const outcome = await scan(text);
    assert.equal(outcome.verdict.category, 'clean');
    assert.ok(outcome.view.parts.every((part) => part.origin !== 'outside-parts'));
  });
});

describe('mbox attachments', () => {
  for (const [type, name] of [
    ['application/mbox', 'archive.bin'],
    ['application/octet-stream', 'archive.mbox'],
    ['application/octet-stream', 'archive.MBX'],
  ] as const) {
    it(`opens ${type} named ${name}`, async () => {
      const outcome = await scan(crlf(evasion.mboxAttachment(type, name)));
      assert.equal(outcome.verdict.category, 'malware');
      assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '2#mbox2/2');
      const nested = outcome.view.nestedMessages.map((message) => message.path);
      assert.deepEqual(nested, ['2#mbox1', '2#mbox2']);
    });
  }

  it('opens an mbox after empty lines', async () => {
    const outcome = await scan(crlf(evasion.mboxAttachment('application/mbox', 'a.mbox', '\r\n\n')));
    assert.equal(outcome.verdict.category, 'malware');
    assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '2#mbox2/2');
  });

  it('keeps mbox messages within the depth limit', async () => {
    const shallow = await createTestPipeline({ MAILSWEEP_MAX_MIME_DEPTH: '1' });
    const outcome = await shallow.scan(toBytes(crlf(evasion.mboxAttachment('application/mbox', 'a.mbox'))));
    assert.ok(signatures(outcome).includes('limit.mime-depth'));
    assert.notEqual(outcome.verdict.category, 'clean');
  });

  it('leaves other attachments named .mbox alone', async () => {
    const text = crlf([...BASE_HEADERS, 'Content-Type: application/mbox', '', 'not an mbox']);
    const outcome = await scan(text);
    assert.equal(outcome.view.nestedMessages.length, 0);
  });
});

describe('zips behind other bytes', () => {
  const zip = (): Buffer => buildZip([{ name: 'eicar.com', content: EICAR }]);

  for (const [label, prefix] of [
    ['a program stub', Buffer.concat([Buffer.from('MZ'), Buffer.alloc(510)])],
    ['a text line', Buffer.from('hello\n')],
  ] as const) {
    it(`finds EICAR in a zip behind ${label}`, async () => {
      const content = Buffer.concat([prefix, zip()]);
      const outcome = await scan(crlf(evasion.withAttachment(content, 'application/zip', 'a.zip')));
      assert.equal(outcome.verdict.category, 'malware');
      assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '2!eicar.com');
    });
  }

  it('finds EICAR in a self-extracting archive', async () => {
    const prefix = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(510)]);
    const content = buildZip([{ name: 'eicar.com', content: EICAR }], { prefix });
    const message = evasion.withAttachment(content, 'application/octet-stream', 'setup.exe');
    const outcome = await scan(crlf(message));
    assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '2!eicar.com');
  });

  it('marks a prefixed zip with bad offsets unscannable', async () => {
    const content = zip();
    const endRecord = content.length - 22;
    content.writeUInt32LE(content.readUInt32LE(endRecord + 16) + 100, endRecord + 16);
    const prefixed = Buffer.concat([Buffer.from('hello\n'), content]);
    const outcome = await scan(crlf(evasion.withAttachment(prefixed, 'application/zip', 'a.zip')));
    assert.equal(outcome.verdict.category, 'unscannable');
    assert.equal(findingAt(outcome, 'archive.corrupt'), '2');
  });
});

describe('zip members named as folders', () => {
  for (const [label, member] of [
    ['a slash', { name: 'eicar.com/', content: EICAR }],
    ['a backslash', { name: 'eicar.com\\', content: EICAR }],
    [
      'a Unicode Path folder',
      { name: 'eicar.com', content: EICAR, extraField: unicodePathField('eicar.com', 'docs/') },
    ],
  ] as const) {
    it(`finds EICAR in a member named with ${label}`, async () => {
      const content = buildZip([member]);
      const outcome = await scan(crlf(evasion.withAttachment(content, 'application/zip', 'a.zip')));
      assert.equal(outcome.verdict.category, 'malware');
      assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '2!eicar.com');
    });
  }
});

describe('attachments named .eml', () => {
  for (const type of ['application/octet-stream', 'text/plain']) {
    it(`reads a ${type} .eml as a message`, async () => {
      const message = evasion.withAttachment(evasion.forwardedEicar(), type, 'forward.eml');
      const outcome = await scan(crlf(message));
      assert.equal(outcome.verdict.category, 'malware');
      assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '2/2');
      const nested = outcome.view.nestedMessages.map((entry) => entry.path);
      assert.deepEqual(nested, ['2']);
    });
  }

  it('reads an .eml zip member as a message', async () => {
    const zip = buildZip([{ name: 'fwd.eml', content: evasion.forwardedEicar() }]);
    const outcome = await scan(crlf(evasion.withAttachment(zip, 'application/zip', 'a.zip')));
    assert.equal(outcome.verdict.category, 'malware');
    assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '2!fwd.eml/2');
  });

  it('reads an .eml TNEF attachment as a message', async () => {
    const tnef = evasion.tnefWithAttachment('fwd.eml', Buffer.from(evasion.forwardedEicar()));
    const message = evasion.withAttachment(tnef, 'application/ms-tnef', 'winmail.dat');
    const outcome = await scan(crlf(message));
    assert.equal(outcome.verdict.category, 'malware');
    assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '2#tnef1/2');
  });

  it('keeps .eml messages within the depth limit', async () => {
    const shallow = await createTestPipeline({ MAILSWEEP_MAX_MIME_DEPTH: '1' });
    const inner = evasion.withAttachment(evasion.forwardedEicar(), 'text/plain', 'inner.eml');
    const outer = evasion.withAttachment(crlf(inner), 'text/plain', 'outer.eml');
    const outcome = await shallow.scan(toBytes(crlf(outer)));
    assert.ok(signatures(outcome).includes('limit.mime-depth'));
    assert.notEqual(outcome.verdict.category, 'clean');
  });

  it('leaves a binary file named .eml alone', async () => {
    const binary = Buffer.alloc(64, 0xff);
    const message = evasion.withAttachment(binary, 'application/octet-stream', 'x.eml');
    const outcome = await scan(crlf(message));
    assert.equal(outcome.view.nestedMessages.length, 0);
    assert.equal(outcome.verdict.category, 'clean');
  });
});

describe('uuencode in text leaves', () => {
  for (const type of ['text/html', 'text/csv']) {
    it(`decodes a uuencoded block in ${type}`, async () => {
      const text = crlf([
        ...BASE_HEADERS,
        `Content-Type: ${type}`,
        '',
        '<pre>',
        uuencode(Buffer.from(EICAR), 'eicar.com'),
        '</pre>',
      ]);
      const outcome = await scan(text);
      assert.equal(outcome.verdict.category, 'malware');
      assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '1#uu1');
    });
  }

  it('reports blocks past the 64 block limit', async () => {
    const harmless = uuencode(Buffer.from('harmless text'), 'note.txt');
    const text = crlf([
      ...BASE_HEADERS,
      'Content-Type: text/plain',
      '',
      ...Array.from({ length: 64 }, () => harmless),
      uuencode(Buffer.from(EICAR), 'eicar.com'),
    ]);
    const outcome = await scan(text);
    assert.equal(outcome.verdict.category, 'unscannable');
    assert.equal(findingAt(outcome, 'limit.uuencoded-blocks'), '1');
  });

  it('reports no limit for 64 blocks', async () => {
    const harmless = uuencode(Buffer.from('harmless text'), 'note.txt');
    const text = crlf([
      ...BASE_HEADERS,
      'Content-Type: text/plain',
      '',
      ...Array.from({ length: 63 }, () => harmless),
      uuencode(Buffer.from(EICAR), 'eicar.com'),
    ]);
    const outcome = await scan(text);
    assert.equal(outcome.verdict.category, 'malware');
    assert.ok(!signatures(outcome).includes('limit.uuencoded-blocks'));
  });
});

describe('header block after a failed parse', () => {
  it('reads the top-level fields up to the empty line', () => {
    const fields = readHeaderBlock(
      toBytes('From: a@fabrikam.example\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n  more\r\n\r\nTo: body@x'),
    );
    assert.deepEqual(fields, [
      { key: 'from', value: 'a@fabrikam.example' },
      { key: 'subject', value: 'café  more' },
    ]);
  });

  it('drops a field the 64 KiB bound cuts', () => {
    const fields = readHeaderBlock(toBytes(`Subject: hi\r\nX-Long: ${'a'.repeat(70_000)}\r\n\r\n`));
    assert.deepEqual(fields.map((field) => field.key), ['subject']);
  });
});
