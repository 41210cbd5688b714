import type { ScanLimits } from '../config/settings.js';
import type { Deadline, Finding } from './types.js';

/**
 * Counters shared by every extraction step of one message (MIME, uuencode, TNEF, archives), so
 * that nesting one container in another can never restart a limit. Each `try*` method returns
 * false, and records a finding once, when the limit would be crossed.
 */
export class ExtractionBudget {
  readonly limits: ScanLimits;
  readonly deadline: Deadline;
  readonly findings: Finding[] = [];
  decodedBytes = 0;
  archiveMembers = 0;
  private readonly reported = new Set<string>();

  constructor(limits: ScanLimits, deadline: Deadline) {
    this.limits = limits;
    this.deadline = deadline;
  }

  /** Reserves `bytes` of decoded content; false once the message total would pass the limit. */
  tryDecode(bytes: number, mimePath: string): boolean {
    if (this.decodedBytes + bytes > this.limits.maxDecodedBytes) {
      this.report('limit.decoded-bytes', 'unscannable', mimePath,
        `decoded content exceeds ${this.limits.maxDecodedBytes} bytes`);
      return false;
    }
    this.decodedBytes += bytes;
    return true;
  }

  /** Reserves one archive member; false once the message total would pass the limit. */
  tryArchiveMember(mimePath: string): boolean {
    if (this.archiveMembers + 1 > this.limits.maxArchiveMembers) {
      this.report('limit.archive-members', 'unscannable', mimePath,
        `archives hold more than ${this.limits.maxArchiveMembers} members`);
      return false;
    }
    this.archiveMembers += 1;
    return true;
  }

  /** False, with a finding, once the scan deadline has passed. */
  checkDeadline(mimePath: string): boolean {
    if (this.deadline.expired()) {
      this.report('limit.scan-timeout', 'unscannable', mimePath,
        `scan exceeded ${this.limits.scanTimeoutMs} ms`);
      return false;
    }
    return true;
  }

  /** Records an extraction finding once per signature, so a bomb does not produce a million. */
  report(signature: string, category: Finding['category'], mimePath: string, reason: string): void {
    if (this.reported.has(signature)) {
      return;
    }
    this.reported.add(signature);
    this.findings.push({ stage: 'extract', engine: 'extract', category, signature, reason, mimePath });
  }
}
