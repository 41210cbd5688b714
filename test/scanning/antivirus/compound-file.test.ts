import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

import {
  isCompoundFile,
  listCompoundFileNames,
} from '../../../src/scanning/antivirus/compound-file.js';

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

const SECTOR = 512;

function oleFile(streams: Record<string, Buffer>): Buffer {
  const container = CFB.utils.cfb_new();
  for (const [path, content] of Object.entries(streams)) {
    CFB.utils.cfb_add(container, path, content);
  }
  return Buffer.from(CFB.write(container, { type: 'buffer' }));
}

function sample(): Buffer {
  return oleFile({
    '/Macros/VBA/_VBA_PROJECT': Buffer.alloc(100, 1),
    '/WordDocument': Buffer.alloc(5000, 2),
  });
}

/** Byte offset of directory entry `index`, for a file whose directory fits in one sector. */
function entryOffset(file: Buffer, index: number): number {
  return (file.readUInt32LE(0x30) + 1) * SECTOR + index * 128;
}

describe('isCompoundFile', () => {
  it('accepts the OLE2 signature', () => {
    assert.equal(isCompoundFile(sample()), true);
  });

  it('rejects other content', () => {
    assert.equal(isCompoundFile(Buffer.from('PK\u0003\u0004')), false);
  });
});

describe('listCompoundFileNames', () => {
  it('lists storages and streams', () => {
    const names = listCompoundFileNames(sample());
    assert.ok(names);
    for (const expected of ['Macros', 'VBA', '_VBA_PROJECT', 'WordDocument']) {
      assert.ok(names.includes(expected), `missing ${expected}`);
    }
  });

  it('ignores a sibling cycle that makes cfb run out of memory', () => {
    const file = sample();
    const names = [4, 5].map((index) => {
      const offset = entryOffset(file, index);
      return file.subarray(offset, offset + file.readUInt16LE(offset + 64) - 2).toString('utf16le');
    });
    assert.deepEqual(names, ['\u0001Sh33tJ5', 'WordDocument']);
    // Entry 4's right sibling is entry 5; pointing entry 5's right sibling back at 4 makes a loop.
    assert.equal(file.readInt32LE(entryOffset(file, 4) + 72), 5);
    file.writeInt32LE(4, entryOffset(file, 5) + 72);
    assert.ok(listCompoundFileNames(file)?.includes('_VBA_PROJECT'));
  });

  it('returns undefined for a directory chain that loops', () => {
    const file = sample();
    const directorySector = file.readUInt32LE(0x30);
    const fatSector = file.readUInt32LE(0x4c);
    // The FAT entry of the directory sector points at itself.
    file.writeUInt32LE(directorySector, (fatSector + 1) * SECTOR + directorySector * 4);
    assert.equal(listCompoundFileNames(file), undefined);
  });

  it('returns undefined for a directory sector past the end', () => {
    const file = sample();
    file.writeUInt32LE(1_000_000, 0x30);
    assert.equal(listCompoundFileNames(file), undefined);
  });

  it('returns undefined for a bad sector size', () => {
    const file = sample();
    file.writeUInt16LE(20, 0x1e);
    assert.equal(listCompoundFileNames(file), undefined);
  });

  it('returns undefined for a truncated header', () => {
    assert.equal(listCompoundFileNames(sample().subarray(0, 300)), undefined);
  });

  it('never throws on mutated files', () => {
    const valid = sample();
    for (let round = 0; round < 2000; round += 1) {
      const mutated = Buffer.from(valid);
      for (let flips = 0; flips < 6; flips += 1) {
        const position = 8 + Math.floor(Math.random() * (mutated.length - 8));
        mutated[position] = Math.floor(Math.random() * 256);
      }
      listCompoundFileNames(mutated);
    }
  });
});
