import type { Finding } from '../types.js';

/** Name of the embedded antiphishing engine in findings and verdicts. */
export const ENGINE_NAME = 'embedded-phish';

/**
 * Most findings of one signature per message. A message with hundreds of IP links is judged by
 * the first few; the rest would only make the verdict larger.
 */
export const MAX_FINDINGS_PER_SIGNATURE = 20;

/** Collects one message's findings, at most once per signature and subject. */
export class FindingRecorder {
  readonly findings: Finding[] = [];
  private readonly keys = new Set<string>();
  private readonly countsBySignature = new Map<string, number>();

  /**
   * Adds a phishing finding unless one with the same signature and `subjectKey` (usually the
   * URL) exists, or the signature already has {@link MAX_FINDINGS_PER_SIGNATURE} findings.
   */
  addPhishing(signature: string, subjectKey: string, mimePath: string, reason: string): void {
    this.add(signature, subjectKey, 'phishing', mimePath, reason);
  }

  /** Adds an `unscannable` finding for a limit crossing, once per signature. */
  addLimit(signature: string, mimePath: string, reason: string): void {
    this.add(signature, '', 'unscannable', mimePath, reason);
  }

  private add(
    signature: string,
    subjectKey: string,
    category: Finding['category'],
    mimePath: string,
    reason: string,
  ): void {
    const key = `${signature}\u0000${subjectKey}`;
    const count = this.countsBySignature.get(signature) ?? 0;
    if (this.keys.has(key) || count >= MAX_FINDINGS_PER_SIGNATURE) {
      return;
    }
    this.keys.add(key);
    this.countsBySignature.set(signature, count + 1);
    this.findings.push({
      stage: 'antiphishing',
      engine: ENGINE_NAME,
      category,
      signature,
      reason,
      mimePath,
    });
  }
}
