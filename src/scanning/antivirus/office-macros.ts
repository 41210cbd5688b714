import { Buffer } from 'node:buffer';

import { isZip } from '../archive.js';
import type { ContentPart } from '../types.js';
import { isCompoundFile, listCompoundFileNames } from './compound-file.js';
import { containerPath, type Detection } from './detection.js';
import { extensionOf, MACRO_EXTENSIONS } from './file-names.js';

/**
 * Storage and stream names of a VBA project in an OLE2 file, lower case: `Macros` (Word 97-2003),
 * `_VBA_PROJECT_CUR` (Excel 97-2003), and the `VBA` storage with its `_VBA_PROJECT` stream that
 * every VBA project holds.
 */
const VBA_NAMES: ReadonlySet<string> = new Set([
  'vba',
  '_vba_project',
  '_vba_project_cur',
  'macros',
]);

/** OOXML part holding the VBA project; its name is fixed by Office, whatever the extension. */
const VBA_PROJECT_PART = 'vbaproject.bin';
const VBA_PROJECT_ASCII = Buffer.from('vbaProject.bin', 'latin1');
/** Content type that [Content_Types].xml declares for a VBA project part. */
const VBA_CONTENT_TYPE_ASCII = Buffer.from('vbaProject', 'latin1');
const VBA_PROJECT_UTF16 = Buffer.from('_VBA_PROJECT', 'utf16le');

/**
 * Finds VBA macros in Office documents: a macro-enabled extension, an OOXML `vbaProject.bin`
 * member or content type, or an OLE2 file with a VBA storage. A finding inside an OOXML package is
 * reported at the document's path, so one document gives one `Office.Macro` after deduplication.
 *
 * NOTE: PowerPoint 97-2003 (.ppt) keeps its VBA project inside the `PowerPoint Document` stream,
 * which this check does not parse, so macros in a .ppt are not found.
 */
export function detectOfficeMacros(part: ContentPart, names: readonly string[]): Detection[] {
  const detections: Detection[] = [];
  for (const name of names) {
    const extension = extensionOf(name);
    if (extension !== undefined && MACRO_EXTENSIONS.has(extension)) {
      detections.push(macro(part.path, `macro-enabled Office file type .${extension}`));
      break;
    }
  }

  const content = asBuffer(part.content);
  if (part.origin === 'archive' && part.filename?.toLowerCase() === VBA_PROJECT_PART) {
    detections.push(macro(containerPath(part.path), 'Office document contains vbaProject.bin'));
  } else if (isContentTypesMember(part) && content.includes(VBA_CONTENT_TYPE_ASCII)) {
    detections.push(macro(containerPath(part.path), 'Office document declares a VBA project'));
  } else if (isZip(content) && content.includes(VBA_PROJECT_ASCII)) {
    // Member names are stored uncompressed, so this still works when extraction stopped early.
    detections.push(macro(part.path, 'Office document contains vbaProject.bin'));
  } else if (isCompoundFile(content) && hasVbaStorage(content)) {
    detections.push(macro(part.path, 'OLE2 Office document contains a VBA project'));
  }
  return detections;
}

function isContentTypesMember(part: ContentPart): boolean {
  return part.origin === 'archive' && part.filename === '[Content_Types].xml';
}

function hasVbaStorage(content: Buffer): boolean {
  const names = listCompoundFileNames(content);
  if (names === undefined) {
    // A broken directory still gets a plain search for the one stream every VBA project has.
    return content.includes(VBA_PROJECT_UTF16);
  }
  return names.some((name) => VBA_NAMES.has(name.toLowerCase()));
}

function macro(mimePath: string, reason: string): Detection {
  return { category: 'policy', signature: 'Office.Macro', reason, mimePath };
}

function asBuffer(content: Uint8Array): Buffer {
  return Buffer.from(content.buffer, content.byteOffset, content.byteLength);
}
