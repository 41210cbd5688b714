import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { describe, it } from 'node:test';

import { expandArchive, findPrefixedZip, isZip } from '../../src/scanning/archive.js';
import { ExtractionBudget } from '../../src/scanning/extraction-budget.js';
import type { ContentPart, Deadline } from '../../src/scanning/types.js';
import { createEmbeddedAntivirus } from '../../src/scanning/antivirus/index.js';
import {
  buildZip,
  unicodePathField,
  zeroBombData,
  type ZipMember,
} from './antivirus/zip-builder.js';
import {
  createBudget,
  DEFAULT_LIMITS,
  EICAR,
  makePart,
  makeView,
  signaturesOf,
} from './antivirus/test-support.js';

const MIB = 1024 * 1024;

function zipPart(members: readonly ZipMember[]): ContentPart {
  return makePart({
    contentType: 'application/zip',
    filename: 'a.zip',
    content: buildZip(members),
  });
}

function pathsOf(parts: readonly ContentPart[]): string[] {
  return parts.map((part) => part.path);
}

/** Wraps a zip in `levels - 1` further zips, innermost holding `payload.txt`. */
function nestedZip(levels: number): Buffer {
  let content = buildZip([{ name: 'payload.txt', content: 'innermost' }]);
  for (let level = levels - 1; level >= 1; level -= 1) {
    content = buildZip([{ name: `level${level + 1}.zip`, content }]);
  }
  return content;
}

describe('isZip', () => {
  it('accepts a local file header', () => {
    assert.equal(isZip(buildZip([{ name: 'a.txt', content: 'a' }])), true);
  });

  it('accepts an empty zip', () => {
    assert.equal(isZip(buildZip([])), true);
  });

  it('rejects other content', () => {
    assert.equal(isZip(Buffer.from('PK')), false);
    assert.equal(isZip(Buffer.from('%PDF-1.7')), false);
    assert.equal(isZip(new Uint8Array(0)), false);
  });
});

describe('findPrefixedZip', () => {
  const eicarZip = (): Buffer => buildZip([{ name: 'eicar.com', content: EICAR }]);
  const programStub = (): Buffer => Buffer.concat([Buffer.from('MZ'), Buffer.alloc(510)]);

  it('returns the prefix length when offsets ignore it', () => {
    const content = Buffer.concat([Buffer.from('hello\n'), eicarZip()]);
    assert.equal(findPrefixedZip(content), 6);
  });

  it('returns 0 when offsets include the prefix', () => {
    const content = buildZip([{ name: 'eicar.com', content: EICAR }], { prefix: programStub() });
    assert.equal(findPrefixedZip(content), 0);
  });

  it('returns -1 when offsets point before the start', () => {
    const zip = eicarZip();
    const endRecord = zip.length - 22;
    zip.writeUInt32LE(zip.readUInt32LE(endRecord + 16) + 100, endRecord + 16);
    assert.equal(findPrefixedZip(Buffer.concat([Buffer.from('hi'), zip])), -1);
  });

  it('leaves a zip at offset 0 to isZip', () => {
    assert.equal(findPrefixedZip(eicarZip()), undefined);
  });

  it('rejects an end record without a central directory', () => {
    const content = Buffer.concat([programStub(), eicarZip().subarray(-22)]);
    assert.equal(findPrefixedZip(content), undefined);
  });

  it('rejects content without an end record', () => {
    assert.equal(findPrefixedZip(programStub()), undefined);
    assert.equal(findPrefixedZip(randomBytes(100_000)), undefined);
    assert.equal(findPrefixedZip(new Uint8Array(0)), undefined);
  });

  it('ignores an end record before the last 65,557 bytes', () => {
    const content = Buffer.concat([Buffer.from('x'), eicarZip(), Buffer.alloc(70_000)]);
    assert.equal(findPrefixedZip(content), undefined);
  });
});

describe('expandArchive of a prefixed zip', () => {
  it('reads members behind a program stub', async () => {
    const prefix = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(510)]);
    const content = Buffer.concat([prefix, buildZip([{ name: 'eicar.com', content: EICAR }])]);
    const budget = createBudget();
    const members = await expandArchive(makePart({ content }), budget, 1);

    assert.deepEqual(pathsOf(members), ['2!eicar.com']);
    assert.equal(Buffer.from(members[0]?.content ?? []).toString(), EICAR);
    assert.deepEqual(budget.findings, []);
  });

  it('reads members when offsets include the prefix', async () => {
    const content = buildZip([{ name: 'eicar.com', content: EICAR }], {
      prefix: Buffer.from('#!/bin/sh\nexit 0\n'),
    });
    const members = await expandArchive(makePart({ content }), createBudget(), 1);
    assert.deepEqual(pathsOf(members), ['2!eicar.com']);
  });

  it('reports offsets before the start as corrupt', async () => {
    const zip = buildZip([{ name: 'eicar.com', content: EICAR }]);
    const endRecord = zip.length - 22;
    zip.writeUInt32LE(zip.readUInt32LE(endRecord + 16) + 100, endRecord + 16);
    const budget = createBudget();
    const content = Buffer.concat([Buffer.from('hi'), zip]);
    const members = await expandArchive(makePart({ content }), budget, 1);

    assert.deepEqual(members, []);
    assert.deepEqual(signaturesOf(budget.findings), ['archive.corrupt']);
  });

  it('opens a prefixed zip inside a zip', async () => {
    const zip = buildZip([{ name: 'x.txt', content: 'x' }]);
    const inner = Buffer.concat([Buffer.from('hello\n'), zip]);
    const part = zipPart([{ name: 'setup.exe', content: inner }]);
    const members = await expandArchive(part, createBudget(), 1);
    assert.deepEqual(pathsOf(members), ['2!setup.exe', '2!setup.exe!x.txt']);
  });
});

describe('expandArchive of members named as folders', () => {
  it('skips a folder entry without data', async () => {
    const members = await expandArchive(
      zipPart([{ name: 'docs/', content: '', method: 'store' }]),
      createBudget(),
      1,
    );
    assert.deepEqual(members, []);
  });

  it('reads a member with data whose name ends in a slash', async () => {
    const part = zipPart([{ name: 'eicar.com/', content: EICAR }]);
    const members = await expandArchive(part, createBudget(), 1);
    assert.deepEqual(pathsOf(members), ['2!eicar.com']);
    assert.equal(members[0]?.filename, 'eicar.com');
    assert.equal(Buffer.from(members[0]?.content ?? []).toString(), EICAR);
  });

  it('reads a member whose name ends in a backslash', async () => {
    const part = zipPart([{ name: 'eicar.com\\', content: EICAR }]);
    const members = await expandArchive(part, createBudget(), 1);
    assert.deepEqual(pathsOf(members), ['2!eicar.com']);
    assert.equal(Buffer.from(members[0]?.content ?? []).toString(), EICAR);
  });

  it('reads a member whose Unicode Path reads as a folder', async () => {
    const member: ZipMember = {
      name: 'eicar.com',
      content: EICAR,
      extraField: unicodePathField('eicar.com', 'docs/'),
    };
    const members = await expandArchive(zipPart([member]), createBudget(), 1);
    assert.deepEqual(pathsOf(members), ['2!eicar.com']);
    assert.equal(members[0]?.filename, 'eicar.com');
  });

  it('names a member by a valid Unicode Path field', async () => {
    const member: ZipMember = {
      name: 'report.txt',
      content: 'hello',
      extraField: unicodePathField('report.txt', 'rapport-été.txt'),
    };
    const members = await expandArchive(zipPart([member]), createBudget(), 1);
    assert.deepEqual(pathsOf(members), ['2!rapport-été.txt']);
  });
});

describe('expandArchive', () => {
  it('returns members with paths, names and origin', async () => {
    const part = zipPart([
      { name: 'docs/', content: '' },
      { name: 'docs/readme.txt', content: 'hello', method: 'store' },
      { name: 'evil.exe', content: 'MZ fake' },
    ]);
    const budget = createBudget();
    const members = await expandArchive(part, budget, 1);

    assert.deepEqual(pathsOf(members), ['2!docs/readme.txt', '2!evil.exe']);
    assert.equal(members[0]?.filename, 'readme.txt');
    assert.equal(Buffer.from(members[0]?.content ?? []).toString(), 'hello');
    assert.equal(Buffer.from(members[1]?.content ?? []).toString(), 'MZ fake');
    for (const member of members) {
      assert.equal(member.origin, 'archive');
      assert.equal(member.depth, 1);
      assert.equal(member.contentType, 'application/octet-stream');
    }
    assert.deepEqual(part.archive, {
      format: 'zip',
      encrypted: false,
      memberCount: 2,
      declaredBytes: 12,
    });
    assert.deepEqual(budget.findings, []);
  });

  it('opens a zip inside a zip with nested paths', async () => {
    const inner = buildZip([{ name: 'evil.exe', content: 'inner payload' }]);
    const part = zipPart([{ name: 'inner.zip', content: inner }]);
    const members = await expandArchive(part, createBudget(), 1);

    assert.deepEqual(pathsOf(members), ['2!inner.zip', '2!inner.zip!evil.exe']);
    assert.equal(members[0]?.archive?.memberCount, 1);
    assert.equal(members[1]?.depth, 2);
  });

  it('reads a member named with a parent directory step', async () => {
    const members = await expandArchive(
      zipPart([{ name: '../evil.exe', content: 'x' }]),
      createBudget(),
      1,
    );
    assert.deepEqual(pathsOf(members), ['2!../evil.exe']);
    assert.equal(members[0]?.filename, 'evil.exe');
  });

  it('keeps OOXML-like XML under the ratio floor', async () => {
    const xml = `<w:document>${'<w:p><w:r><w:t>same text</w:t></w:r></w:p>'.repeat(20_000)}</w:document>`;
    const budget = createBudget();
    const members = await expandArchive(
      zipPart([{ name: 'word/document.xml', content: xml }]),
      budget,
      1,
    );
    assert.equal(members[0]?.content.length, Buffer.byteLength(xml));
    assert.deepEqual(budget.findings, []);
  });

  it('stops at the archive depth limit', async () => {
    const part = makePart({ content: nestedZip(5) });
    const budget = createBudget({ maxArchiveDepth: 3 });
    const members = await expandArchive(part, budget, 1);

    assert.deepEqual(pathsOf(members), [
      '2!level2.zip',
      '2!level2.zip!level3.zip',
      '2!level2.zip!level3.zip!level4.zip',
    ]);
    assert.deepEqual(signaturesOf(budget.findings), ['limit.archive-depth']);
    assert.equal(budget.findings[0]?.category, 'unscannable');
    assert.equal(budget.findings[0]?.mimePath, '2!level2.zip!level3.zip!level4.zip');
  });

  it('does not open an archive past the depth it is given', async () => {
    const budget = createBudget({ maxArchiveDepth: 2 });
    const part = zipPart([{ name: 'a.txt', content: 'a' }]);
    assert.deepEqual(await expandArchive(part, budget, 3), []);
    assert.deepEqual(signaturesOf(budget.findings), ['limit.archive-depth']);
  });

  it('stops at the archive member limit', async () => {
    const members: ZipMember[] = Array.from({ length: 5 }, (_, i) => ({
      name: `f${i}.txt`,
      content: `${i}`,
    }));
    const budget = createBudget({ maxArchiveMembers: 3 });
    const parts = await expandArchive(zipPart(members), budget, 1);

    assert.equal(parts.length, 3);
    assert.deepEqual(signaturesOf(budget.findings), ['limit.archive-members']);
  });

  it('cuts off a member of 20 MB of zeros', async () => {
    const budget = createBudget();
    const started = performance.now();
    const parts = await expandArchive(
      zipPart([{ name: 'zeros.bin', content: Buffer.alloc(20 * MIB) }]),
      budget,
      1,
    );

    assert.deepEqual(signaturesOf(budget.findings), ['archive.compression-ratio']);
    assert.equal(budget.findings[0]?.category, 'policy');
    assert.equal(budget.findings[0]?.mimePath, '2!zeros.bin');
    assert.ok((parts[0]?.content.length ?? 0) < 20 * MIB, 'the member was inflated in full');
    assert.ok(performance.now() - started < 5000);
  });

  it('reports a 1 GB bomb and still reads the EICAR member after it', async () => {
    const budget = createBudget();
    const part = zipPart([
      { name: 'zeros.bin', data: zeroBombData(1024), declaredSize: 1024 * MIB },
      { name: 'eicar.com', content: EICAR, method: 'store' },
    ]);
    assert.ok(part.content.length < 2 * MIB, 'the bomb should be about 1 MB compressed');
    const members = await expandArchive(part, budget, 1);

    assert.ok(signaturesOf(budget.findings).includes('archive.compression-ratio'));
    assert.ok(budget.decodedBytes < 200 * MIB, `inflated ${budget.decodedBytes} bytes`);
    const eicarMember = members.find((member) => member.filename === 'eicar.com');
    assert.equal(Buffer.from(eicarMember?.content ?? []).toString(), EICAR);

    const engine = createEmbeddedAntivirus({});
    const result = await engine.scan(makeView([part, ...members]), budget.deadline);
    assert.ok(signaturesOf(result.findings).includes('Eicar-Test-Signature'));
  });

  it('stops at the decoded bytes limit', async () => {
    const part = zipPart([
      { name: 'a.bin', content: randomBytes(60_000) },
      { name: 'b.bin', content: randomBytes(60_000) },
      { name: 'c.bin', content: randomBytes(60_000) },
    ]);
    const budget = createBudget({ maxDecodedBytes: 100_000 });
    const members = await expandArchive(part, budget, 1);

    assert.deepEqual(signaturesOf(budget.findings), ['limit.decoded-bytes']);
    assert.ok(budget.decodedBytes <= 100_000);
    assert.deepEqual(pathsOf(members), ['2!a.bin', '2!b.bin']);
    assert.ok((members[1]?.content.length ?? 0) < 60_000);
  });

  it('marks encrypted members and the archive', async () => {
    const part = zipPart([
      {
        name: 'secret.exe',
        data: randomBytes(64),
        method: 'store',
        flags: 0x0001,
        declaredSize: 52,
      },
      { name: 'plain.txt', content: 'plain' },
    ]);
    const budget = createBudget();
    const members = await expandArchive(part, budget, 1);

    assert.equal(members[0]?.encrypted, true);
    assert.equal(members[0]?.content.length, 0);
    assert.equal(members[1]?.encrypted, undefined);
    assert.equal(part.archive?.encrypted, true);
    assert.deepEqual(budget.findings, []);
  });

  it('marks an AES-encrypted member', async () => {
    const part = zipPart([
      { name: 'a.docx', data: randomBytes(80), methodNumber: 99, flags: 0x0001 },
    ]);
    const members = await expandArchive(part, createBudget(), 1);
    assert.equal(members[0]?.encrypted, true);
    assert.equal(part.archive?.encrypted, true);
  });

  it('marks strong encryption as encrypted', async () => {
    const part = zipPart([
      { name: 'a.txt', data: randomBytes(40), methodNumber: 8, flags: 0x0041 },
    ]);
    const budget = createBudget();
    await expandArchive(part, budget, 1);
    assert.equal(part.archive?.encrypted, true);
  });

  it('reports a corrupt zip', async () => {
    const content = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), randomBytes(500)]);
    const budget = createBudget();
    const part = makePart({ content });
    assert.deepEqual(await expandArchive(part, budget, 1), []);
    assert.deepEqual(signaturesOf(budget.findings), ['archive.corrupt']);
    assert.equal(budget.findings[0]?.category, 'unscannable');
    assert.equal(part.archive?.memberCount, 0);
  });

  it('reports a zip truncated before its central directory', async () => {
    const whole = buildZip([{ name: 'a.txt', content: randomBytes(4000) }]);
    const budget = createBudget();
    await expandArchive(makePart({ content: whole.subarray(0, 2000) }), budget, 1);
    assert.deepEqual(signaturesOf(budget.findings), ['archive.corrupt']);
  });

  it('reports member data that runs past the end', async () => {
    const whole = buildZip([{ name: 'a.txt', content: randomBytes(4000), method: 'store' }]);
    // Keep the central directory but cut the member data short by moving the directory up.
    const centralStart = whole.length - 22 - 46 - 'a.txt'.length;
    const directory = Buffer.from(whole.subarray(centralStart));
    directory.writeUInt32LE(centralStart - 1000, directory.length - 22 + 16);
    const content = Buffer.concat([whole.subarray(0, centralStart - 1000), directory]);
    const budget = createBudget();
    await expandArchive(makePart({ content }), budget, 1);
    assert.deepEqual(signaturesOf(budget.findings), ['archive.corrupt']);
  });

  it('reports members whose bytes overlap', async () => {
    const members: ZipMember[] = [
      { name: 'a.bin', content: Buffer.alloc(100_000) },
      ...Array.from({ length: 20 }, (_, i) => ({ name: `copy${i}.bin`, sharesLocalHeaderOf: 0 })),
    ];
    const budget = createBudget();
    const parts = await expandArchive(zipPart(members), budget, 1);
    assert.deepEqual(signaturesOf(budget.findings), ['archive.corrupt']);
    assert.deepEqual(pathsOf(parts), ['2!a.bin']);
  });

  it('reports invalid deflate data and keeps later members', async () => {
    const part = zipPart([
      { name: 'broken.bin', data: Buffer.from([0xff, 0xff, 0xff, 0xff]), declaredSize: 10 },
      { name: 'ok.txt', content: 'ok' },
    ]);
    const budget = createBudget();
    const members = await expandArchive(part, budget, 1);
    assert.deepEqual(signaturesOf(budget.findings), ['archive.corrupt']);
    assert.deepEqual(pathsOf(members), ['2!broken.bin', '2!ok.txt']);
  });

  it('reports an unsupported compression method', async () => {
    const budget = createBudget();
    const part = zipPart([{ name: 'a.bz2', data: Buffer.from('BZh9'), methodNumber: 12 }]);
    const members = await expandArchive(part, budget, 1);
    assert.deepEqual(signaturesOf(budget.findings), ['archive.unsupported-method']);
    assert.equal(members[0]?.content.length, 0);
  });

  it('stops at an expired deadline', async () => {
    const expired: Deadline = { expiresAt: 0, expired: () => true };
    const budget = new ExtractionBudget(DEFAULT_LIMITS, expired);
    const members = await expandArchive(zipPart([{ name: 'a.txt', content: 'a' }]), budget, 1);
    assert.deepEqual(members, []);
    assert.deepEqual(signaturesOf(budget.findings), ['limit.scan-timeout']);
  });

  it('never rejects on random bytes behind a zip header', async () => {
    for (let round = 0; round < 200; round += 1) {
      const valid = buildZip([
        { name: 'a.txt', content: randomBytes(300) },
        { name: 'b.zip', content: buildZip([{ name: 'c.txt', content: 'c' }]) },
      ]);
      const mutated = Buffer.from(valid);
      for (let flips = 0; flips < 8; flips += 1) {
        mutated[Math.floor(Math.random() * mutated.length)] = Math.floor(Math.random() * 256);
      }
      await expandArchive(makePart({ content: mutated }), createBudget(), 1);
    }
  });

  it('reads a deflated member written by zlib', async () => {
    const text = 'x'.repeat(10_000);
    const part = zipPart([{ name: 'x.txt', data: deflateRawSync(text), declaredSize: 10_000 }]);
    const members = await expandArchive(part, createBudget(), 1);
    assert.equal(Buffer.from(members[0]?.content ?? []).toString(), text);
  });
});
