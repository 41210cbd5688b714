import type {
  ContentPart,
  Deadline,
  EngineResult,
  Finding,
  MessageView,
  ScanEngine,
} from '../types.js';
import { containerPath, type Detection } from './detection.js';
import { containsEicar, EICAR_TEST_STRING } from './eicar.js';
import {
  candidateNames,
  DANGEROUS_EXTENSIONS,
  detectDisguisedName,
  extensionOf,
  HARMLESS_EXTENSIONS,
  TEXT_EXTENSIONS,
} from './file-names.js';
import { sha256Hex } from './hash-blocklist.js';
import { detectHtmlSmuggling } from './html-smuggling.js';
import { detectOfficeMacros } from './office-macros.js';
import { detectShebangScript, detectTrueType, needsFileType, type TrueType } from './true-type.js';

const ENGINE_NAME = 'embedded-av';

const TRUE_TYPE_LABELS: Readonly<Record<string, string>> = {
  exe: 'Windows executable',
  elf: 'ELF executable',
  macho: 'Mach-O executable',
  script: 'shebang script',
  lnk: 'Windows shortcut',
  chm: 'compiled HTML help',
};

/** Options of {@link createEmbeddedAntivirus}. */
export interface EmbeddedAntivirusOptions {
  /**
   * Lower-case hex SHA-256 digests reported as `Hash.Blocklist` malware, as returned by
   * `loadHashBlocklist`. Default: none, and no part is hashed.
   */
  hashBlocklist?: ReadonlySet<string>;
}

/**
 * Creates the embedded antivirus engine (`embedded-av`), which needs no daemon. It checks every
 * extracted part: MIME leaves, archive members, uuencode and TNEF attachments. Text bodies are
 * searched for EICAR too. Each finding is reported once per signature and path.
 *
 * Signatures: `Eicar-Test-Signature` and `Hash.Blocklist` (malware), `Disguised.Executable` for an
 * executable behind a harmless extension, `Disguised.Filename` for bait, padded or bidi names
 * (malware), and `Policy.DangerousType`, `Office.Macro`, `Archive.Encrypted` (policy). HTML
 * smuggling is `Html.Smuggling` (malware).
 */
export function createEmbeddedAntivirus(options: EmbeddedAntivirusOptions = {}): ScanEngine {
  const blocklist = options.hashBlocklist?.size ? options.hashBlocklist : undefined;
  return {
    name: ENGINE_NAME,
    stage: 'antivirus',
    scan: (view, deadline) => scanMessage(view, deadline, blocklist),
  };
}

/**
 * Scans every part and text body. file-type is asynchronous, so only a message with a part that
 * needs it gets a promise: the others finish synchronously, and the pipeline needs no timer for
 * them.
 */
function scanMessage(
  view: MessageView,
  deadline: Deadline,
  blocklist: ReadonlySet<string> | undefined,
): EngineResult | Promise<EngineResult> {
  const findings = new Map<string, Finding>();
  if (view.parts.some((part) => needsFileType(part.content))) {
    return scanPartsWithFileType(view, deadline, blocklist, findings).then(() =>
      finishScan(view, findings),
    );
  }
  for (const part of view.parts) {
    if (deadline.expired()) {
      addDetection(findings, partTimeout(part));
      break;
    }
    const trueType = detectShebangScript(part.content);
    for (const detection of scanPart(part, blocklist, trueType)) {
      addDetection(findings, detection);
    }
  }
  return finishScan(view, findings);
}

async function scanPartsWithFileType(
  view: MessageView,
  deadline: Deadline,
  blocklist: ReadonlySet<string> | undefined,
  findings: Map<string, Finding>,
): Promise<void> {
  for (const part of view.parts) {
    if (deadline.expired()) {
      addDetection(findings, partTimeout(part));
      break;
    }
    const trueType = await detectTrueType(part.content);
    for (const detection of scanPart(part, blocklist, trueType)) {
      addDetection(findings, detection);
    }
  }
}

/** Searches the text bodies for EICAR and returns every finding. */
function finishScan(view: MessageView, findings: Map<string, Finding>): EngineResult {
  for (const body of view.bodies) {
    if (body.text.includes(EICAR_TEST_STRING)) {
      addDetection(findings, eicar(body.path));
    }
  }
  return { findings: [...findings.values()] };
}

/** Adds a detection unless one with the same signature and path is already there. */
function addDetection(findings: Map<string, Finding>, detection: Detection): void {
  const key = `${detection.signature}\u0000${detection.mimePath}`;
  if (!findings.has(key)) {
    findings.set(key, { stage: 'antivirus', engine: ENGINE_NAME, ...detection });
  }
}

function partTimeout(part: ContentPart): Detection {
  return {
    category: 'unscannable',
    signature: 'limit.scan-timeout',
    reason: 'antivirus scan stopped at the scan deadline',
    mimePath: part.path,
  };
}

/** Runs every check on one part, given its true type from {@link detectTrueType}. */
function scanPart(
  part: ContentPart,
  blocklist: ReadonlySet<string> | undefined,
  trueType: TrueType | undefined,
): Detection[] {
  const detections: Detection[] = [];
  if (containsEicar(part.content)) {
    detections.push(eicar(part.path));
  }
  if (blocklist && part.content.length > 0 && blocklist.has(sha256Hex(part.content))) {
    detections.push({
      category: 'malware',
      signature: 'Hash.Blocklist',
      reason: 'SHA-256 of the content is on the hash blocklist',
      mimePath: part.path,
    });
  }

  const names = candidateNames(part);
  detections.push(...detectNameRisks(names, part.path));
  if (trueType !== undefined) {
    detections.push(...classifyTrueType(trueType, names, part.path));
  }
  detections.push(...detectOfficeMacros(part, names));
  detections.push(...detectEncryption(part));

  const smuggling = detectHtmlSmuggling(part, names);
  if (smuggling !== undefined) {
    detections.push(smuggling);
  }
  return detections;
}

function detectNameRisks(names: readonly string[], mimePath: string): Detection[] {
  const detections: Detection[] = [];
  const disguised = names.map((name) => detectDisguisedName(name, mimePath)).find(Boolean);
  if (disguised !== undefined) {
    detections.push(disguised);
  }

  const dangerous = names.map(extensionOf).find((ext) => DANGEROUS_EXTENSIONS.has(ext ?? ''));
  if (dangerous !== undefined) {
    detections.push(dangerousType(mimePath, `file type .${dangerous} is blocked by policy`));
  }
  return detections;
}

/**
 * Compares the true type with the names. An executable behind a harmless extension is disguised
 * malware. An executable, shortcut or help file with no name or an unlisted extension is a
 * dangerous type. A dangerous extension was already reported by name.
 */
function classifyTrueType(
  trueType: TrueType,
  names: readonly string[],
  mimePath: string,
): Detection[] {
  const extensions = names.map(extensionOf).filter((ext): ext is string => ext !== undefined);
  if (extensions.some((ext) => DANGEROUS_EXTENSIONS.has(ext))) {
    return [];
  }
  const label = TRUE_TYPE_LABELS[trueType.ext] ?? trueType.ext;

  const bait = extensions.find((ext) => HARMLESS_EXTENSIONS.has(ext));
  if (bait !== undefined) {
    // A binary behind a document extension was renamed to pass filters. A shortcut named .pdf or
    // a script named .txt only opens in a viewer or editor, so those are left alone.
    if (trueType.kind === 'shell' || (trueType.kind === 'script' && TEXT_EXTENSIONS.has(bait))) {
      return [];
    }
    return [
      {
        category: 'malware',
        signature: 'Disguised.Executable',
        reason: `${label} content behind a .${bait} file name`,
        mimePath,
      },
    ];
  }

  // NOTE: a shebang script with no name is not reported, since text bodies may start with "#!".
  if (trueType.kind === 'script') {
    return [];
  }
  return [dangerousType(mimePath, `${label} content is blocked by policy`)];
}

function detectEncryption(part: ContentPart): Detection[] {
  const encrypted = (mimePath: string): Detection => ({
    category: 'policy',
    signature: 'Archive.Encrypted',
    reason: 'encrypted archive members cannot be scanned',
    mimePath,
  });
  if (part.archive?.encrypted) {
    return [encrypted(part.path)];
  }
  if (part.encrypted) {
    return [encrypted(containerPath(part.path))];
  }
  return [];
}

function dangerousType(mimePath: string, reason: string): Detection {
  return { category: 'policy', signature: 'Policy.DangerousType', reason, mimePath };
}

function eicar(mimePath: string): Detection {
  return {
    category: 'malware',
    signature: 'Eicar-Test-Signature',
    reason: 'EICAR anti-malware test file',
    mimePath,
  };
}
