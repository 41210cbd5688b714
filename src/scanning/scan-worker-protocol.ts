import type { ScanResult } from './message-scanner.js';
import type { ScanContext } from './types.js';

/**
 * A job sent by the pool: one raw message, inline or, when large, in a temporary file. Node's IPC
 * channel parses a message of many megabytes slowly, so large messages travel through the disk.
 */
export type WorkerRequest =
  | { id: number; raw: Uint8Array; context: ScanContext }
  | { id: number; file: string; context: ScanContext };

/** The worker's reply: ready, a result, or why scanning failed. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'startup-failed'; error: string }
  | { type: 'result'; id: number; result: ScanResult }
  | { type: 'failed'; id: number; error: string };

/** Environment variable through which the pool hands its MAILSWEEP_* settings as JSON. */
export const WORKER_SETTINGS_VARIABLE = 'MAILSWEEP_WORKER_SETTINGS';

/**
 * Where a worker reads administrator rules: `file` reads MAILSWEEP_RULES_PATH only (the command
 * line); `store` also reads the versioned rule store in Blob storage when no file is set.
 */
export const WORKER_RULES_VARIABLE = 'MAILSWEEP_WORKER_RULES';

export type WorkerRuleSource = 'file' | 'store';
