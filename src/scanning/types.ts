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
   * `!` into an archive member, `#uu1` or `#tnef1` into embedded encodings, and `#mbox1` into a
   * message of an mbox attachment. `#lf` marks a nested message read again with its lone carriage
   * returns as line ends, and `#outside-parts` a multipart's text outside its parts.
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
  /**
   * Name of the admin rule that decided the verdict: the rule whose action the verdict carries or,
   * when the engines found nothing, the first rule that matched. Absent when the engines decided.
   */
  decidingRule?: string;
  /** Steps rules ask the verdict's consumer to take in the mailbox (tag, remove a part, notify). */
  ruleActions?: RuleActionRequest[];
  /** Every rule that matched, enforced or only logged. Present when a rule set is in force. */
  ruleMatches?: RuleMatch[];
  /** Version of the rule set that was evaluated, when it came from the rule store. */
  ruleSetVersion?: number;
}

/** A step a rule requests from the consumer of a verdict, because the pipeline cannot take it. */
export type RuleActionRequest =
  | { type: 'tag'; rule: string; category?: string; flag?: boolean; subjectPrefix?: string }
  | { type: 'removeAttachment'; rule: string; mimePath: string }
  | { type: 'notify'; rule: string; to: 'admin' | 'recipient'; text: string };

/** One rule that matched, and where. Conditions are described from the rule, never the message. */
export interface RuleMatch {
  rule: string;
  point: 'message' | 'attachment' | 'results';
  /** The attachment the rule matched, at the attachment point. */
  mimePath?: string;
  /** Action types of the rule, e.g. `quarantine`, `tag`, `continue`. */
  actions: string[];
  conditions: string[];
  /** The match was only recorded: the rule set is in log-only mode or the rule's action is `log`. */
  logOnly: boolean;
}

/** Decisions of the rules, for the pipeline to merge into the verdict. */
export interface RuleOutcome {
  /** Findings of stage `rules` for quarantine, delete and junk actions. */
  findings: Finding[];
  /** Strongest action the enforced rules asked for; `none` if none did. */
  action: Action;
  /** Rule that asked for `action`. */
  actionRule?: string;
  /** First enforced rule that matched. */
  firstRule?: string;
  ruleActions: RuleActionRequest[];
  ruleMatches: RuleMatch[];
  ruleSetVersion?: number;
}

/** Rules in progress on one message: evaluated before the engines, completed after them. */
export interface RulePass {
  /** Stages whose engines do not run, because a rule skips them. */
  readonly skippedStages: ReadonlySet<Stage>;
  /** Evaluates the rules on the engine results and returns the outcome of every point. */
  complete(results: {
    findings: readonly Finding[];
    spam?: { score: number; threshold: number };
  }): RuleOutcome;
}

/** Admin rules as the pipeline runs them; see src/rules. */
export interface RuleHook {
  /**
   * Evaluates the rules before the engines (message and attachment points).
   * Returns undefined when no rule set is in force.
   */
  begin(view: MessageView, deadline: Deadline): Promise<RulePass | undefined>;
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
  /** Cause of the scan: a new message, a catch-up sync, a scheduled or an on-demand scan. */
  trigger?: 'arrival' | 'catch-up' | 'scheduled' | 'on-demand';
  /** Entra groups (object ids or names) the mailbox belongs to, when the caller knows them. */
  groups?: readonly string[];
}

/**
 * Kind of container a content part was found in. `outside-parts` is the text of a multipart
 * outside its parts (preamble, epilogue, or the whole body when no delimiter appears): antivirus
 * scans it, but it is no attachment.
 */
export type PartOrigin = 'mime' | 'uuencode' | 'tnef' | 'archive' | 'outside-parts';

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
