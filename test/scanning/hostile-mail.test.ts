import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { describe, it, before } from 'node:test';

import { EICAR } from '../../src/samples/samples.js';
import { createZip } from '../../src/samples/zip-writer.js';
import type { Pipeline, ScanOutcome } from '../../src/scanning/pipeline.js';
import * as hostile from '../fixtures/hostile-mail.js';
import { crlf, toBytes } from '../fixtures/hostile-mail.js';
import { createTestPipeline } from '../helpers/pipeline.js';

let pipeline: Pipeline;

before(async () => {
  pipeline = await createTestPipeline();
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

describe('unclosed multiparts', () => {
  it('keeps every part of an unclosed nested multipart', async () => {
    const outcome = await scan(hostile.unclosedNestedMultipart());
    const types = outcome.view.bodies.map((body) => body.type);
    assert.deepEqual(types, ['plain', 'html']);
    assert.ok(outcome.view.bodies[0]?.text.includes('Hello €'));
    assert.ok(outcome.defects.includes('unclosed-multipart'));
  });

  it('keeps a base64 attachment that runs to the end of the file', async () => {
    const outcome = await scan(hostile.missingClosingDelimiter(hostile.peStub(), 'report.pdf'));
    const attachment = outcome.view.parts.find((part) => part.filename === 'report.pdf');
    assert.ok(attachment, 'attachment part missing');
    assert.equal(Buffer.from(attachment.content.subarray(0, 2)).toString('latin1'), 'MZ');
    assert.equal(outcome.verdict.category, 'malware');
  });

  it('parses a nested message that holds only a header block', async () => {
    const outcome = await scan(hostile.headerOnlyNestedMessage());
    assert.equal(outcome.view.nestedMessages.length, 1);
    assert.equal(outcome.view.nestedMessages[0]?.path, '1');
    assert.notEqual(outcome.verdict.category, 'unscannable');
  });
});

describe('nested messages', () => {
  it('scans a journal report original without a disposition', async () => {
    const outcome = await scan(await hostile.journalReport());
    assert.equal(outcome.verdict.category, 'malware');
    assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '2/2!payload/readme.com');
  });
});

describe('dispositions', () => {
  for (const disposition of ['=?utf-8?Q?inline?=', '=?utf-8?B?YXR0YWNobWVudA==?=', 'foo']) {
    it(`reads the HTML body under disposition ${disposition}`, async () => {
      const outcome = await scan(hostile.encodedWordDisposition(disposition));
      const html = outcome.view.bodies.find((body) => body.type === 'html');
      assert.ok(html, 'html body missing');
      assert.ok(html.text.includes('45.33.12.7'));
      assert.ok(signatures(outcome).includes('Phish.IpLiteral'));
    });
  }

  for (const disposition of ['inline', undefined]) {
    it(`finds an executable with disposition ${disposition ?? 'missing'}`, async () => {
      const outcome = await scan(hostile.inlineExecutable(disposition));
      assert.notEqual(outcome.verdict.category, 'clean');
      assert.ok(signatures(outcome).includes('Policy.DangerousType'));
      assert.equal(findingAt(outcome, 'Policy.DangerousType'), '2');
    });
  }
});

describe('uuencode', () => {
  it('decodes a uuencoded block in a text body', async () => {
    const outcome = await scan(hostile.uuencodedInBody(Buffer.from(EICAR), 'eicar.com'));
    assert.equal(outcome.verdict.category, 'malware');
    assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '1#uu1');
  });

  for (const label of ['x-uuencode', 'uuencode', 'x-uue']) {
    it(`decodes a part with transfer encoding ${label}`, async () => {
      const outcome = await scan(hostile.uuencodeTransferEncoding(Buffer.from(EICAR), label));
      assert.equal(outcome.verdict.category, 'malware');
      assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '2#uu1');
    });
  }

  it('reports an undecodable uuencoded block', async () => {
    const text = crlf([...hostile.BASE_HEADERS, 'Subject: bad uu', '', 'begin 644 x.exe', 'M\u00ff\u00ff\u00ff', 'end', '']);
    const outcome = await scan(text);
    assert.ok(signatures(outcome).includes('encoding.suspicious'));
    assert.equal(outcome.verdict.category, 'unscannable');
  });
});

describe('structure limits', () => {
  it('stops a nested message bomb at the depth limit', async () => {
    // 20,000 levels is far past any stack a recursive walk could survive. 100,000 levels take
    // about 1.5 s in a plain process but several times that under the test runner, whose async
    // tracking slows postal-mime's promise chain, so the larger bomb belongs in the benchmark.
    const outcome = await scan(hostile.nestedMessageBomb(20_000));
    assert.ok(signatures(outcome).includes('limit.mime-depth'));
    assert.equal(outcome.verdict.category, 'unscannable');
  });

  it('stops a million-part multipart at the part limit', async () => {
    const outcome = await scan(hostile.partCountBomb(1_000_000));
    assert.ok(signatures(outcome).includes('limit.mime-parts'));
    assert.equal(outcome.verdict.category, 'unscannable');
  });

  it('stops 300 nested multiparts at the depth limit', async () => {
    const outcome = await scan(hostile.nestedMultipartBomb(300));
    assert.ok(signatures(outcome).includes('limit.mime-depth'));
  });

  it('reports 10,000 parts and 100 levels with default limits', async () => {
    assert.ok(signatures(await scan(hostile.partCountBomb(10_000))).includes('limit.mime-parts'));
    assert.ok(signatures(await scan(hostile.nestedMultipartBomb(100))).includes('limit.mime-depth'));
  });

  it('accepts 100 nested levels under a raised depth limit', async () => {
    const deep = await createTestPipeline({ MAILSWEEP_MAX_MIME_DEPTH: '200' });
    const outcome = await deep.scan(toBytes(hostile.nestedMultipartBomb(100)));
    assert.equal(outcome.verdict.category, 'clean');
    assert.equal(outcome.view.bodies[0]?.text.trim(), 'deep');
  });

  it('still finds EICAR behind a header over the limit', async () => {
    const outcome = await scan(hostile.hugeHeaderLine(2.5 * 1024 * 1024));
    assert.ok(signatures(outcome).includes('limit.header-bytes'));
    assert.equal(outcome.verdict.category, 'malware');
  });

  it('accepts a 1 MB header line under the default limit', async () => {
    const outcome = await scan(hostile.hugeHeaderLine(1024 * 1024));
    assert.ok(!signatures(outcome).includes('limit.header-bytes'));
  });

  it('reports a message over the size limit', async () => {
    const small = await createTestPipeline({ MAILSWEEP_MAX_MESSAGE_BYTES: '1000' });
    const outcome = await small.scan(toBytes(hostile.hugeHeaderLine(2000)));
    assert.deepEqual(signatures(outcome), ['limit.message-bytes']);
    assert.equal(outcome.verdict.category, 'unscannable');
    assert.equal(outcome.verdict.action, 'quarantine');
  });

  it('reports decoded content over the limit', async () => {
    const small = await createTestPipeline({ MAILSWEEP_MAX_DECODED_BYTES: '100' });
    const outcome = await small.scan(toBytes(hostile.inlineExecutable('attachment')));
    assert.ok(signatures(outcome).includes('limit.decoded-bytes'));
    assert.notEqual(outcome.verdict.category, 'clean');
  });

  it('reports a scan that outlives its time limit', async () => {
    const hurried = await createTestPipeline({ MAILSWEEP_SCAN_TIMEOUT_MS: '1' });
    const outcome = await hurried.scan(toBytes(hostile.partCountBomb(4000)));
    assert.ok(signatures(outcome).includes('limit.scan-timeout'));
    assert.equal(outcome.verdict.category, 'unscannable');
  });
});

describe('header decoding', () => {
  it('joins encoded-words that split a character', async () => {
    const outcome = await scan(hostile.splitEncodedWords());
    assert.equal(outcome.view.subject, '請求書.exe');
  });

  it('applies the extension policy to a split encoded filename', async () => {
    const outcome = await scan(hostile.splitEncodedWords());
    const part = outcome.view.parts.find((candidate) => candidate.path === '2');
    assert.equal(part?.filename, '請求書.exe');
    assert.ok(signatures(outcome).includes('Policy.DangerousType'));
  });

  it('reads a body in an unknown charset', async () => {
    const outcome = await scan(hostile.splitEncodedWords());
    assert.ok(outcome.view.bodies.some((body) => body.text.includes('unknown charset')));
  });

  it('decodes an RFC 2231 filename with continuations', async () => {
    const outcome = await scan(hostile.rfc2231Filename());
    const part = outcome.view.parts.find((candidate) => candidate.path === '2');
    assert.equal(part?.filename, '請求書.pdf.scr');
    assert.equal(outcome.verdict.category, 'malware');
  });
});

describe('archives in mail', () => {
  it('does not pass a bomb member followed by EICAR', async () => {
    const zip = await createZip([
      { name: 'zeros.bin', content: Buffer.alloc(64 * 1024 * 1024) },
      { name: 'eicar.com', content: Buffer.from(EICAR) },
    ]);
    const text = crlf([
      ...hostile.BASE_HEADERS,
      'Subject: bomb then eicar',
      'Content-Type: application/zip; name="a.zip"',
      'Content-Transfer-Encoding: base64',
      '',
      hostile.base64Lines(zip),
      '',
    ]);
    const outcome = await scan(text);
    assert.ok(['malware', 'policy'].includes(outcome.verdict.category));
    assert.ok(signatures(outcome).includes('archive.compression-ratio'));
  });
});

describe('oversized content', () => {
  it('gives a 50 MB nested-div HTML body a verdict', async () => {
    const html = '<div>'.repeat(5_000_000) + 'text' + '</div>'.repeat(5_000_000);
    const text = crlf([...hostile.BASE_HEADERS, 'Subject: deep html', 'Content-Type: text/html', '', html]);
    const started = performance.now();
    const outcome = await scan(text);
    assert.ok(performance.now() - started < 20_000, 'took longer than 20 s');
    assert.ok(outcome.verdict.category.length > 0);
  });

  it('stops a recursive archive at the depth limit', async () => {
    let content: Buffer = Buffer.from(EICAR);
    let name = 'eicar.com';
    for (let level = 1; level <= 6; level++) {
      content = await createZip([{ name, content }]);
      name = `level${level}.zip`;
    }
    const text = crlf([
      ...hostile.BASE_HEADERS,
      'Subject: nested archives',
      'Content-Type: application/zip; name="nested.zip"',
      'Content-Transfer-Encoding: base64',
      '',
      hostile.base64Lines(content),
      '',
    ]);
    const outcome = await scan(text);
    assert.ok(signatures(outcome).includes('limit.archive-depth'));
    assert.equal(outcome.verdict.category, 'unscannable');
  });
});

describe('malformed input', () => {
  const cases: Array<[string, string | Uint8Array]> = [
    ['an empty file', ''],
    ['binary garbage', new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))],
    ['a message that is only a header', crlf([...hostile.BASE_HEADERS, 'Subject: only a header'])],
    ['headers without a body', crlf([...hostile.BASE_HEADERS, 'Subject: no body', '', ''])],
    ['a truncated message', hostile.unclosedNestedMultipart().slice(0, 300)],
    ['a multipart with no boundary parameter', crlf([...hostile.BASE_HEADERS, 'Content-Type: multipart/mixed', '', '--x', '', 'text', '--x--'])],
    ['invalid base64', crlf([...hostile.BASE_HEADERS, 'Content-Type: application/octet-stream; name="a.bin"', 'Content-Transfer-Encoding: base64', '', '!!!!****%%%%====AAAA', ''])],
    ['NUL bytes in headers and body', `${crlf([...hostile.BASE_HEADERS, 'Subject: a\0b'])}\r\n\r\nbody\0\0\0`],
  ];
  for (const [name, input] of cases) {
    it(`gives ${name} a verdict`, async () => {
      const outcome = await scan(input);
      assert.ok(outcome.verdict.category.length > 0);
      assert.ok(Number.isFinite(outcome.verdict.durationMs));
    });
  }

  it('marks an empty file unscannable', async () => {
    const outcome = await scan('');
    assert.equal(outcome.verdict.category, 'unscannable');
    assert.deepEqual(signatures(outcome), ['mime.empty']);
  });

  it('marks binary garbage unscannable', async () => {
    const garbage = new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
    const outcome = await scan(garbage);
    assert.equal(outcome.verdict.category, 'unscannable');
  });
});

describe('other archive formats', () => {
  function attachment(filename: string, content: Uint8Array): string {
    return crlf([
      ...hostile.BASE_HEADERS,
      'Subject: archive format',
      `Content-Type: application/octet-stream; name="${filename}"`,
      'Content-Transfer-Encoding: base64',
      '',
      hostile.base64Lines(content),
      '',
    ]);
  }

  it('opens a gzip attachment', async () => {
    const outcome = await scan(attachment('tool.com.gz', gzipSync(Buffer.from(EICAR))));
    assert.equal(outcome.verdict.category, 'malware');
    assert.equal(findingAt(outcome, 'Eicar-Test-Signature'), '1!tool.com');
  });

  it('opens a gzip member of a zip', async () => {
    const zip = await createZip([{ name: 'inner.gz', content: gzipSync(Buffer.from(EICAR)) }]);
    const outcome = await scan(attachment('outer.zip', zip));
    assert.equal(outcome.verdict.category, 'malware');
  });

  it('stops a gzip bomb at the compression ratio', async () => {
    const outcome = await scan(attachment('zeros.gz', gzipSync(Buffer.alloc(64 * 1024 * 1024))));
    assert.ok(signatures(outcome).includes('archive.compression-ratio'));
    assert.equal(outcome.verdict.category, 'policy');
  });

  it('reports corrupt gzip data', async () => {
    const broken = gzipSync(Buffer.from(EICAR)).subarray(0, 12);
    const outcome = await scan(attachment('broken.gz', broken));
    assert.ok(signatures(outcome).includes('archive.corrupt'));
  });

  for (const [name, header] of [
    ['RAR', [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x01, 0x00]],
    ['7-Zip', [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0x00, 0x04]],
  ] as const) {
    it(`marks a ${name} archive unscannable`, async () => {
      const content = new Uint8Array([...header, ...Buffer.alloc(64, 7)]);
      const outcome = await scan(attachment('files.bin', content));
      assert.ok(signatures(outcome).includes('archive.unsupported'));
      assert.equal(outcome.verdict.category, 'unscannable');
    });
  }

  it('keeps text starting with BZh clean of archive findings', async () => {
    const outcome = await scan(attachment('notes.txt', Buffer.from('BZh is not bzip2 without a digit')));
    assert.ok(!signatures(outcome).includes('archive.unsupported'));
  });
});
