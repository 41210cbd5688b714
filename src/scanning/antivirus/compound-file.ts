const SIGNATURE = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
const HEADER_BYTES = 512;
const DIRECTORY_ENTRY_BYTES = 128;
/** Sector numbers from 0xFFFFFFFA up are markers (end of chain, free, FAT, DIFAT), not sectors. */
const MAX_REGULAR_SECTOR = 0xfffffff9;
/** The header lists the first 109 FAT sectors; a DIFAT sector chain lists the rest. */
const HEADER_DIFAT_ENTRIES = 109;
const OBJECT_TYPE_STORAGE = 1;
const OBJECT_TYPE_STREAM = 2;

/** True when the content starts with the OLE2 compound file signature (.doc, .xls, .msi, .msg). */
export function isCompoundFile(content: Uint8Array): boolean {
  return content.length >= SIGNATURE.length && SIGNATURE.every((byte, i) => content[i] === byte);
}

/**
 * Lists the names of the storages and streams of an OLE2 compound file, or returns undefined
 * when the header or directory chain is broken.
 *
 * This reads only the directory sectors, following the FAT with a visited set, so a crafted file
 * costs at most one pass over its own sectors. The cfb package (1.2.2) is not used on mail: a
 * directory whose sibling pointers form a cycle makes it loop until Node aborts with a heap
 * overflow. It also follows FAT chains without a cycle check when it reads streams.
 * @see https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cfb/
 */
export function listCompoundFileNames(content: Uint8Array): string[] | undefined {
  if (!isCompoundFile(content) || content.length < HEADER_BYTES) {
    return undefined;
  }
  const file = new CompoundFile(content);
  if (!file.valid) {
    return undefined;
  }
  return file.readDirectoryNames();
}

class CompoundFile {
  readonly valid: boolean;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly sectorSize: number;
  private readonly sectorCount: number;
  /** Sector numbers of the FAT sectors, in order, read lazily from the header and DIFAT chain. */
  private readonly fatSectors: number[] = [];
  private nextDifatSector: number;
  private readonly visitedDifatSectors = new Set<number>();

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const sectorShift = this.view.getUint16(0x1e, true);
    this.sectorSize = 1 << sectorShift;
    this.valid = sectorShift === 9 || sectorShift === 12;
    this.sectorCount = Math.max(0, Math.floor((bytes.length - this.sectorSize) / this.sectorSize));
    this.nextDifatSector = this.view.getUint32(0x44, true);
    for (let index = 0; index < HEADER_DIFAT_ENTRIES; index += 1) {
      this.fatSectors.push(this.view.getUint32(0x4c + index * 4, true));
    }
  }

  readDirectoryNames(): string[] | undefined {
    const names: string[] = [];
    const visited = new Set<number>();
    let sector = this.view.getUint32(0x30, true);
    while (sector <= MAX_REGULAR_SECTOR) {
      if (sector >= this.sectorCount || visited.has(sector)) {
        return undefined;
      }
      visited.add(sector);
      const start = this.sectorOffset(sector);
      for (let offset = start; offset < start + this.sectorSize; offset += DIRECTORY_ENTRY_BYTES) {
        const name = this.readEntryName(offset);
        if (name !== undefined) {
          names.push(name);
        }
      }
      const next = this.nextSector(sector);
      if (next === undefined) {
        return undefined;
      }
      sector = next;
    }
    return names;
  }

  private readEntryName(offset: number): string | undefined {
    const type = this.bytes[offset + 66];
    if (type !== OBJECT_TYPE_STORAGE && type !== OBJECT_TYPE_STREAM) {
      return undefined;
    }
    // The length is in bytes and counts the UTF-16 terminator; 64 bytes hold at most 31 characters.
    const nameBytes = Math.min(this.view.getUint16(offset + 64, true), 64);
    let name = '';
    for (let index = 0; index + 1 < nameBytes; index += 2) {
      const code = this.view.getUint16(offset + index, true);
      if (code === 0) {
        break;
      }
      name += String.fromCharCode(code);
    }
    return name;
  }

  /** Follows the FAT one step; undefined when the FAT sector holding the entry is missing. */
  private nextSector(sector: number): number | undefined {
    const entriesPerSector = this.sectorSize / 4;
    const fatSector = this.fatSectorAt(Math.floor(sector / entriesPerSector));
    if (fatSector === undefined || fatSector >= this.sectorCount) {
      return undefined;
    }
    const entryOffset = this.sectorOffset(fatSector) + (sector % entriesPerSector) * 4;
    return this.view.getUint32(entryOffset, true);
  }

  private fatSectorAt(index: number): number | undefined {
    while (index >= this.fatSectors.length) {
      if (!this.readNextDifatSector()) {
        return undefined;
      }
    }
    return this.fatSectors[index];
  }

  /** Appends the FAT sector numbers of the next DIFAT sector; false at the end or on a loop. */
  private readNextDifatSector(): boolean {
    const sector = this.nextDifatSector;
    if (sector >= this.sectorCount || this.visitedDifatSectors.has(sector)) {
      return false;
    }
    this.visitedDifatSectors.add(sector);
    const start = this.sectorOffset(sector);
    const entries = this.sectorSize / 4 - 1;
    for (let index = 0; index < entries; index += 1) {
      this.fatSectors.push(this.view.getUint32(start + index * 4, true));
    }
    this.nextDifatSector = this.view.getUint32(start + entries * 4, true);
    return true;
  }

  /** Sector 0 starts right after the header, which fills one whole sector. */
  private sectorOffset(sector: number): number {
    return (sector + 1) * this.sectorSize;
  }
}
