import { summarizeMessage, type MessageSummary } from './message-summary.js';
import type { Pipeline } from './pipeline.js';
import type { ScanContext, Verdict } from './types.js';

/** Outcome of a scan for callers outside src/scanning: facts only, no message content. */
export interface ScanResult {
  verdict: Verdict;
  summary: MessageSummary;
  /** Structural defects that did not change the verdict, e.g. `unclosed-multipart`. */
  defects: string[];
}

/** Scans raw messages, in this thread or in worker threads. */
export interface MessageScanner {
  scan(raw: Uint8Array, context?: ScanContext): Promise<ScanResult>;
  close(): Promise<void>;
}

/** Runs the pipeline in the calling thread, with only its cooperative deadline. */
export function createInProcessScanner(pipeline: Pipeline): MessageScanner {
  return {
    async scan(raw, context) {
      const { verdict, view, defects } = await pipeline.scan(raw, context);
      return { verdict, summary: summarizeMessage(view), defects: [...new Set(defects)] };
    },
    close: () => Promise.resolve(),
  };
}
