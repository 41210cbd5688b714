import type { ContentPart } from '../types.js';
import type { Detection } from './detection.js';

/**
 * Extensions that Windows (and macOS for a few) runs, installs, mounts or opens in a scripting
 * host on double-click. The list follows Outlook's blocked attachment list and the types seen in
 * current malspam (ISO, IMG, VHD and OneNote containers that bypass Mark of the Web).
 */
// prettier-ignore
export const DANGEROUS_EXTENSIONS: ReadonlySet<string> = new Set([
  // Programs and libraries
  'exe', 'dll', 'scr', 'com', 'pif', 'cpl', 'sys', 'drv', 'ocx', 'msc', 'gadget', 'xll',
  'app', 'command', 'pkg',
  // Windows Script Host, HTML applications and other script types
  'js', 'jse', 'vbs', 'vbe', 'vb', 'wsf', 'wsh', 'wsc', 'ws', 'sct', 'hta', 'htc',
  'bat', 'cmd', 'ps1', 'psm1', 'psd1', 'ps1xml', 'psc1', 'msh', 'msh1', 'msh2', 'jar', 'jnlp',
  // Shortcuts and shell files that point at or run other code
  'lnk', 'url', 'scf', 'inf', 'ins', 'isp', 'reg', 'chm', 'hlp', 'shb', 'shs', 'xnk',
  'library-ms', 'searchconnector-ms', 'settingcontent-ms', 'appref-ms', 'application',
  'diagcab', 'theme', 'themepack', 'website', 'wsb',
  // Installers and packages
  'msi', 'msp', 'mst', 'msu', 'msix', 'msixbundle', 'appx', 'appxbundle', 'vsix',
  // Disk images and containers that hide their members from scanners and Mark of the Web
  'iso', 'img', 'vhd', 'vhdx', 'udf', 'one', 'onepkg',
  // Access databases, which run VBA on open
  'ade', 'adp', 'mda', 'mdb', 'mde', 'accde', 'accdr',
]);

/**
 * Extensions of types that never run code when opened. An executable or script behind one of
 * them is disguised, and `name.pdf.exe` uses one of them as bait.
 */
// prettier-ignore
export const HARMLESS_EXTENSIONS: ReadonlySet<string> = new Set([
  'pdf', 'txt', 'text', 'log', 'csv', 'tsv', 'rtf', 'md', 'json', 'xml',
  'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'odt', 'ods', 'odp', 'pages', 'numbers',
  'jpg', 'jpeg', 'png', 'gif', 'bmp', 'tif', 'tiff', 'webp', 'heic', 'ico',
  'mp3', 'mp4', 'm4a', 'wav', 'avi', 'mov', 'mkv', 'wmv', 'ogg',
  'zip', 'rar', '7z', 'gz', 'eml', 'msg', 'ics', 'vcf', 'htm', 'html',
]);

/** Plain-text types, which an editor opens even when the content is a script. */
// prettier-ignore
export const TEXT_EXTENSIONS: ReadonlySet<string> = new Set([
  'txt', 'text', 'log', 'csv', 'tsv', 'md', 'json', 'xml',
]);

/** Office formats that carry VBA macros by definition (OOXML macro-enabled and add-ins). */
// prettier-ignore
export const MACRO_EXTENSIONS: ReadonlySet<string> = new Set([
  'docm', 'dotm', 'xlsm', 'xltm', 'xlam', 'xla', 'pptm', 'potm', 'ppam', 'ppa', 'ppsm', 'sldm',
]);

/**
 * Characters that change the display order of the text around them. U+202E turns
 * `invoice[U+202E]fdp.exe` into `invoiceexe.pdf` on screen. A file name has no use for them.
 */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** Whitespace runs (no-break and typographic spaces too) that push `.exe` off-screen. */
const PADDING = /[\s\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u2800\u3000]{3,}$/u;

/**
 * Returns the names a part is known by, as Windows would read them: trailing dots and spaces
 * dropped, and cut at a NUL, which ends the name for Win32 calls. Both the decoded and the raw
 * name are returned when they differ.
 */
export function candidateNames(part: ContentPart): string[] {
  const names = new Set<string>();
  for (const name of [part.filename, part.rawFilename]) {
    if (name === undefined) {
      continue;
    }
    const nulIndex = name.indexOf('\0');
    for (const variant of nulIndex < 0 ? [name] : [name, name.slice(0, nulIndex)]) {
      const trimmed = trimTrailingDotsAndSpaces(variant);
      if (trimmed !== '') {
        names.add(trimmed);
      }
    }
  }
  return [...names];
}

/** Lower-case extension after the last dot, or undefined when the name has no dot. */
export function extensionOf(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  if (dot < 0 || dot === name.length - 1) {
    return undefined;
  }
  return name
    .slice(dot + 1)
    .trim()
    .toLowerCase();
}

/** Flags a name built to look like something else: bidi controls, bait or padded extensions. */
export function detectDisguisedName(name: string, mimePath: string): Detection | undefined {
  if (BIDI_CONTROLS.test(name)) {
    return disguised(mimePath, 'file name contains a bidirectional text control character');
  }

  const extension = extensionOf(name);
  if (extension === undefined) {
    return undefined;
  }
  const stem = name.slice(0, name.lastIndexOf('.'));
  const padded = PADDING.test(stem);
  const baitExtension = extensionOf(stem.trimEnd());
  const hasBait = baitExtension !== undefined && HARMLESS_EXTENSIONS.has(baitExtension);

  if (DANGEROUS_EXTENSIONS.has(extension) && hasBait) {
    return disguised(mimePath, `file name has a double extension .${baitExtension}.${extension}`);
  }
  if (padded && (DANGEROUS_EXTENSIONS.has(extension) || hasBait)) {
    return disguised(mimePath, `file name hides its .${extension} extension behind whitespace`);
  }
  return undefined;
}

function disguised(mimePath: string, reason: string): Detection {
  return { category: 'malware', signature: 'Disguised.Filename', reason, mimePath };
}

function trimTrailingDotsAndSpaces(name: string): string {
  let end = name.length;
  while (end > 0 && (name[end - 1] === '.' || name[end - 1] === ' ')) {
    end -= 1;
  }
  return name.slice(0, end);
}
