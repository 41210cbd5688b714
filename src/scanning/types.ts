/** Verdict categories, from most to least severe in {@link CATEGORY_SEVERITY}. */
export type Category = 'clean' | 'spam' | 'phishing' | 'malware' | 'policy' | 'unscannable';

/** Step taken on a message in its mailbox once its verdict is known. */
export type Action = 'none' | 'tag' | 'junk' | 'quarantine' | 'delete';

/** Pipeline stages in the order they run. Extraction problems are reported as stage `extract`. */
export type Stage = 'extract' | 'rules' | 'antivirus' | 'antispam' | 'antiphishing';

export const STAGE_ORDER: readonly Stage[] = [
  'extract',
  'rules',
  'antivirus',
  'antispam',
  'antiphishing',
];

/** Higher wins when findings of several categories meet in one message. */
export const CATEGORY_SEVERITY: Readonly<Record<Category, number>> = {
  clean: 0,
  spam: 1,
  policy: 2,
  unscannable: 3,
  phishing: 4,
  malware: 5,
};

/** One reason for a verdict, traceable to the part of the message it came from. */
export interface Finding {
  stage: Stage;
  /** Engine that produced the finding, e.g. `embedded-av`, `clamd`, `mime`. */
  engine: string;
  category: Exclude<Category, 'clean'>;
  /** Stable machine-readable identifier, e.g. `Eicar-Test-Signature`, `limit.mime-depth`. */
  signature: string;
  /** Human-readable explanation. Never contains message content beyond a file type or name. */
  reason: string;
  /** Engine score where the engine has one (spam probability, phishing weight). */
  score?: number;
  /**
   * Location of the part: IMAP-style part numbers (`1.2`), `/` into a nested message,
   * `!` into an archive member and `#uu1` or `#tnef1` into embedded encodings.
   * `""` is the message as a whole.
   */
  mimePath: string;
  /**
   * Set on an `unscannable` finding whose cause is temporary (a daemon engine down, timed out or
   * returning an invalid response) when the failure policy is `retry`. A queue consumer returns
   * such a job for another attempt instead of acting on the verdict; see `shouldRetry`.
   */
  transient?: boolean;
}

/** Typed outcome of scanning one message. */
export interface Verdict {
  category: Category;
  action: Action;
  findings: Finding[];
  /** Spam classifier score and threshold, present when the antispam stage ran. */
  spam?: { score: number; threshold: number };
  /** Wall time of the whole pipeline for this message, in milliseconds. */
  durationMs: number;
}

/** Origin of a message. Every field is optional because local files have no mailbox. */
export interface ScanContext {
  mailbox?: string;
  folder?: string;
  /** Mailbox-specific id (Graph or EWS item id). */
  messageId?: string;
  receivedAt?: Date;
  /** Local file, with `#N` for the Nth message of an mbox. */
  source?: string;
}

/** Kind of container a content part was found in. */
export type PartOrigin = 'mime' | 'uuencode' | 'tnef' | 'archive';

/** Facts about an archive that extraction opened (or failed to open). */
export interface ArchiveInfo {
  format: 'zip';
  /** At least one member is encrypted (traditional PKWARE or AES). */
  encrypted: boolean;
  memberCount: number;
  /** Sum of the declared uncompressed sizes, in bytes. */
  declaredBytes: number;
}

/** One leaf of the message after every container was opened: the unit engines scan. */
export interface ContentPart {
  /** See {@link Finding.mimePath}. */
  path: string;
  /** Declared media type, lower case, without parameters (`application/octet-stream`). */
  contentType: string;
  /** Decoded filename from Content-Disposition or Content-Type `name`, if any. */
  filename?: string;
  /** The filename exactly as written before RFC 2047 or RFC 2231 decoding, if it differed. */
  rawFilename?: string;
  /** Content-Disposition value, lower case (`attachment`, `inline`, or anything a sender wrote). */
  disposition?: string;
  contentId?: string;
  /** Decoded bytes. Empty for an encrypted archive member whose bytes could not be read. */
  content: Uint8Array;
  origin: PartOrigin;
  /** Set on a part that is itself an archive. */
  archive?: ArchiveInfo;
  /** Set on an archive member that is encrypted. */
  encrypted?: boolean;
  /** Container depth: 0 for a part of the top-level message. */
  depth: number;
}

/** A header field with its name in lower case and its value unfolded and RFC 2047 decoded. */
export interface HeaderField {
  key: string;
  value: string;
}

/** A text body of the message or of a nested message, decoded to a string. */
export interface TextBody {
  path: string;
  type: 'plain' | 'html';
  text: string;
}

/** Everything the engines may look at. Built once per message by extraction. */
export interface MessageView {
  raw: Uint8Array;
  /** Origin of the message as the caller described it, empty for a bare scan. */
  context: ScanContext;
  /** Headers of the top-level message in order. */
  headers: readonly HeaderField[];
  subject: string;
  /** Decoded text and HTML bodies of the message and of every nested message. */
  bodies: readonly TextBody[];
  /** Every leaf part, including archive members and decoded uuencode or TNEF attachments. */
  parts: readonly ContentPart[];
  /** Internet message ids, senders and subjects of nested messages, by path. */
  nestedMessages: readonly { path: string; headers: readonly HeaderField[] }[];
  /** The parse completed without hitting a limit or a structural error. */
  complete: boolean;
}

/**
 * A scanning engine. Engines are pure: they receive the extracted message and return findings,
 * and they never throw for hostile content. A thrown error means the engine itself failed, which
 * the pipeline turns into an `unscannable` finding instead of a clean verdict.
 */
export interface ScanEngine {
  readonly name: string;
  readonly stage: Exclude<Stage, 'extract'>;
  scan(view: MessageView, deadline: Deadline): Promise<EngineResult> | EngineResult;
}

/** Findings of one engine plus any score it wants reported in the verdict. */
export interface EngineResult {
  findings: Finding[];
  spam?: { score: number; threshold: number };
}

/** A point in time after which long loops stop and report a timeout finding. */
export interface Deadline {
  readonly expiresAt: number;
  expired(): boolean;
}
