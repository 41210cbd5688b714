import type { EngineFailurePolicy } from '../config/settings.js';
import { ScannerError } from '../shared/errors.js';
import type { Finding, ScanEngine, Verdict } from './types.js';

/** Why a daemon engine could not give an answer. Each kind is its own finding signature. */
export type EngineFailureKind = 'unavailable' | 'timeout' | 'bad-response' | 'error';

/** An engine backed by a daemon, which can be asked for its version for GET /api/health. */
export interface DaemonEngine extends ScanEngine {
  /**
   * Asks the daemon for its version and, where it has one, the date of its signatures.
   * @throws ScannerError `engine-failed` when the daemon does not answer in `timeoutMs`.
   */
  probe(timeoutMs: number): Promise<DaemonVersion>;
}

/** Version facts a daemon reports. */
export interface DaemonVersion {
  /** For example `ClamAV 1.4.6` or `rspamd/3.4`. */
  version: string;
  /** Build time of the signature database as an ISO 8601 string, when the daemon has one. */
  signatureDate?: string;
}

/** Returns true for an engine that has a daemon to probe. */
export function isDaemonEngine(engine: ScanEngine): engine is DaemonEngine {
  return typeof (engine as Partial<DaemonEngine>).probe === 'function';
}

/**
 * Creates the error a daemon client throws when its daemon cannot answer. The code is
 * `engine-failed`, which is transient.
 */
export function engineFailure(
  engine: string,
  kind: EngineFailureKind,
  message: string,
  cause?: unknown,
): ScannerError {
  return new ScannerError('engine-failed', message, { cause, fields: { engine, kind } });
}

/** Reads the failure kind that {@link engineFailure} stored, or `unavailable` for other errors. */
export function toFailureKind(error: unknown): EngineFailureKind {
  if (error instanceof ScannerError) {
    const kind = error.fields.kind;
    if (kind === 'timeout' || kind === 'bad-response' || kind === 'error') {
      return kind;
    }
  }
  return 'unavailable';
}

/**
 * Turns a daemon failure into an `unscannable` finding (`engine.unavailable`, `engine.timeout`,
 * `engine.bad-response` or `engine.error`). Under the `retry` policy the finding is marked transient. The reason
 * names the failure kind only, because a daemon's error text may echo message content.
 */
export function toFailureFinding(
  engine: Pick<ScanEngine, 'name' | 'stage'>,
  error: unknown,
  policy: EngineFailurePolicy,
): Finding {
  const kind = toFailureKind(error);
  const finding: Finding = {
    stage: engine.stage,
    engine: engine.name,
    category: 'unscannable',
    signature: `engine.${kind}`,
    reason: `engine ${engine.name} gave no verdict: ${FAILURE_REASONS[kind]}`,
    mimePath: '',
  };
  if (policy === 'retry') {
    finding.transient = true;
  }
  return finding;
}

const FAILURE_REASONS: Readonly<Record<EngineFailureKind, string>> = {
  unavailable: 'the daemon could not be reached or closed the connection',
  timeout: 'the daemon did not answer in time',
  'bad-response': 'the daemon returned a response that is not valid',
  error: 'the daemon reported an error',
};

/**
 * Returns true when a verdict should not be acted on yet: it is `unscannable` and every
 * `unscannable` finding is transient, so another attempt may succeed. A verdict that is also
 * unscannable for a lasting reason (a size limit) is acted on, because a retry cannot change it.
 */
export function shouldRetry(verdict: Pick<Verdict, 'category' | 'findings'>): boolean {
  if (verdict.category !== 'unscannable') {
    return false;
  }
  const unscannable = verdict.findings.filter((finding) => finding.category === 'unscannable');
  return unscannable.length > 0 && unscannable.every((finding) => finding.transient === true);
}
