import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { Settings } from '../config/settings.js';
import { ScannerError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { MessageScanner, ScanResult } from './message-scanner.js';
import {
  WORKER_RULES_VARIABLE,
  WORKER_SETTINGS_VARIABLE,
  type WorkerReply,
  type WorkerRequest,
  type WorkerRuleSource,
} from './scan-worker-protocol.js';
import type { Finding, ScanContext } from './types.js';

/** Options of {@link createScanPool}. */
export interface ScanPoolOptions {
  /** Validated settings; the workers load the same ones from `env`. */
  settings: Settings;
  /** The MAILSWEEP_* variables the settings came from, handed to each worker. */
  env: Record<string, string>;
  /** Worker processes, each scanning one message at a time. */
  size: number;
  logger: Logger;
  /** Time a worker gets beyond the scan deadline before it is terminated; default 5,000 ms. */
  graceMs?: number;
  /** Where workers read administrator rules; default `file` (MAILSWEEP_RULES_PATH only). */
  rules?: WorkerRuleSource;
}

const DEFAULT_GRACE_MS = 5_000;

// Compiled, this module sits next to scan-worker.js. Run from source (the tests, under tsx), it
// sits next to scan-worker.ts, and the child inherits tsx's loader through process.execArgv.
const WORKER_PATH = new URL(
  import.meta.url.endsWith('.ts') ? './scan-worker.ts' : './scan-worker.js',
  import.meta.url,
);

/** Messages larger than this go to the worker through a temporary file instead of IPC. */
const IPC_INLINE_BYTES = 1024 * 1024;

/** Spool folders are named with this prefix and the owning process id. */
const SPOOL_PREFIX = 'mailsweep-scan-';

/**
 * Removes spool folders left by pools whose process is gone, which happens when a command is
 * killed by a signal before it can clean up. Only folders named with a dead process id are touched.
 */
async function removeAbandonedSpoolFolders(): Promise<void> {
  const entries = await readdir(os.tmpdir()).catch(() => []);
  for (const name of entries) {
    const match = new RegExp(`^${SPOOL_PREFIX}(\\d+)-`).exec(name);
    const pid = match ? Number(match[1]) : undefined;
    if (pid !== undefined && pid !== process.pid && !isProcessAlive(pid)) {
      await rm(path.join(os.tmpdir(), name), { recursive: true, force: true });
    }
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    // EPERM means the process exists but belongs to someone else.
    return (error as { code?: string }).code === 'EPERM';
  }
}

/** Text V8 prints to stderr when a process exhausts its heap. */
const OUT_OF_MEMORY_MARK = 'heap out of memory';

interface Job {
  id: number;
  raw: Uint8Array;
  /** Temporary file holding `raw` for a large message, deleted when the job ends. */
  file?: string;
  context: ScanContext;
  resolve(result: ScanResult): void;
}

interface PoolWorker {
  worker: ChildProcess;
  /** Set once the worker printed V8's out-of-memory message before dying. */
  outOfMemory: boolean;
  job?: Job;
  timer?: NodeJS.Timeout;
  /** Set when the pool itself ended the worker, so its exit is not treated as a crash. */
  retired: boolean;
}

/**
 * Scans messages in worker processes, so that a message can never stop the caller: a worker that
 * passes the scan timeout plus a grace period is killed, and one that runs out of its V8 heap
 * (`MAILSWEEP_WORKER_MAX_HEAP_MB`) dies alone. Either way the message gets an `unscannable`
 * verdict and a fresh worker takes the next message. This is the hard limit behind the pipeline's
 * cooperative deadline, which cannot interrupt a synchronous step inside a library. Processes,
 * not worker threads: in Node 20 a worker thread that exhausts its heap can abort the whole process.
 * @throws ScannerError `config-invalid` when a worker cannot start (bad settings or model).
 */
export async function createScanPool(options: ScanPoolOptions): Promise<MessageScanner> {
  const pool = new ScanPool(options);
  await pool.start();
  return pool;
}

class ScanPool implements MessageScanner {
  private readonly options: ScanPoolOptions;
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private spoolFolder?: string;

  constructor(options: ScanPoolOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    await removeAbandonedSpoolFolders();
    this.spoolFolder = await mkdtemp(path.join(os.tmpdir(), `${SPOOL_PREFIX}${process.pid}-`));
    const started = await Promise.allSettled(
      Array.from({ length: this.options.size }, () => this.spawn()),
    );
    const failure = started.find((result) => result.status === 'rejected');
    if (failure) {
      await this.close();
      throw failure.reason;
    }
  }

  async scan(raw: Uint8Array, context: ScanContext = {}): Promise<ScanResult> {
    if (this.closed) {
      throw new ScannerError('engine-failed', 'the scan pool is closed');
    }
    const id = this.nextId++;
    const file =
      raw.length > IPC_INLINE_BYTES && this.spoolFolder
        ? path.join(this.spoolFolder, `${id}.eml`)
        : undefined;
    if (file) {
      await writeFile(file, raw);
    }
    try {
      return await new Promise<ScanResult>((resolve) => {
        this.queue.push({ id, raw, file, context, resolve });
        this.dispatch();
      });
    } finally {
      if (file) {
        await rm(file, { force: true });
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    const pending = [...workers.flatMap((entry) => (entry.job ? [entry.job] : [])), ...this.queue.splice(0)];
    for (const job of pending) {
      job.resolve(this.failedResult('scan.failed', 'the scan pool closed before the scan finished'));
    }
    await Promise.all(workers.map((entry) => this.retire(entry)));
    if (this.spoolFolder) {
      await rm(this.spoolFolder, { recursive: true, force: true });
    }
  }

  private spawn(): Promise<void> {
    const { settings, env } = this.options;
    const worker = fork(WORKER_PATH, [], {
      execArgv: [...process.execArgv, `--max-old-space-size=${settings.workers.maxHeapMb}`],
      env: {
        ...process.env,
        [WORKER_SETTINGS_VARIABLE]: JSON.stringify(env),
        [WORKER_RULES_VARIABLE]: this.options.rules ?? 'file',
      },
      serialization: 'advanced',
      // Its own process group, so a terminal's Ctrl+C reaches only the parent. A worker ends when
      // its IPC channel closes, so it cannot outlive the parent.
      detached: true,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const entry: PoolWorker = { worker, outOfMemory: false, retired: false };
    worker.stderr?.setEncoding('utf8');
    worker.stderr?.on('data', (chunk: string) => {
      // Only V8's fatal message is looked for; nothing from stderr is logged, since a crash
      // report could quote message content.
      entry.outOfMemory ||= chunk.includes(OUT_OF_MEMORY_MARK);
    });
    return new Promise((resolve, reject) => {
      const onStartupExit = (): void =>
        reject(
          new ScannerError(
            'config-invalid',
            // NOTE: stderr usually arrives before the exit event, but Node does not promise it.
            entry.outOfMemory
              ? `a scan worker ran out of its ${settings.workers.maxHeapMb} MiB heap during start-up; raise MAILSWEEP_WORKER_MAX_HEAP_MB`
              : 'a scan worker exited during start-up',
          ),
        );
      const onStartupError = (error: Error): void =>
        reject(new ScannerError('config-invalid', `a scan worker failed to start: ${error.message}`, { cause: error }));
      worker.once('exit', onStartupExit);
      worker.once('error', onStartupError);
      worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') {
          worker.off('exit', onStartupExit);
          worker.off('error', onStartupError);
          worker.on('exit', (code, signal) => this.onExit(entry, code, signal));
          worker.on('error', (error) => this.onError(entry, error));
          this.workers.push(entry);
          this.dispatch();
          resolve();
        } else if (reply.type === 'startup-failed') {
          worker.off('exit', onStartupExit);
          worker.off('error', onStartupError);
          worker.kill();
          reject(new ScannerError('config-invalid', `scan worker failed to start: ${reply.error}`));
        } else {
          this.onReply(entry, reply);
        }
      });
    });
  }

  private dispatch(): void {
    for (const entry of this.workers) {
      const job = entry.job ? undefined : this.queue.shift();
      if (!job) {
        continue;
      }
      entry.job = job;
      const limitMs = this.hardLimitMs();
      entry.timer = setTimeout(() => this.onTimeout(entry), limitMs);
      const request: WorkerRequest = job.file
        ? { id: job.id, file: job.file, context: job.context }
        : { id: job.id, raw: job.raw, context: job.context };
      entry.worker.send(request);
    }
  }

  private onReply(entry: PoolWorker, reply: WorkerReply): void {
    const job = entry.job;
    if (!job || !('id' in reply) || reply.id !== job.id) {
      return;
    }
    this.finishJob(entry);
    if (reply.type === 'result') {
      job.resolve(reply.result);
    } else if (reply.type === 'failed') {
      this.options.logger.error('scan failed in worker', { error: reply.error });
      job.resolve(this.failedResult('scan.failed', `the scan failed: ${reply.error}`));
    }
    this.dispatch();
  }

  private onTimeout(entry: PoolWorker): void {
    const job = entry.job;
    this.finishJob(entry);
    const limitMs = this.hardLimitMs();
    this.options.logger.warn('scan worker terminated after the time limit', { limitMs });
    job?.resolve(this.failedResult('limit.scan-timeout', `scan did not finish within ${limitMs} ms`));
    void this.replace(entry);
  }

  /** The IPC channel failed (a send to a dead worker); its exit handler does the rest. */
  private onError(entry: PoolWorker, error: Error): void {
    this.options.logger.error('scan worker channel failed', { error: error.message });
  }

  private onExit(entry: PoolWorker, code: number | null, signal: NodeJS.Signals | null): void {
    if (entry.retired || this.closed) {
      return;
    }
    const job = entry.job;
    this.finishJob(entry);
    const heapMb = this.options.settings.workers.maxHeapMb;
    this.options.logger.error('scan worker exited', {
      code: code ?? undefined,
      signal: signal ?? undefined,
      outOfMemory: entry.outOfMemory,
    });
    job?.resolve(
      entry.outOfMemory
        ? this.failedResult('limit.memory', `scan exceeded ${heapMb} MB of heap`)
        : this.failedResult('scan.failed', `the scan worker exited (${signal ?? `code ${code}`})`),
    );
    void this.replace(entry);
  }

  private hardLimitMs(): number {
    return this.options.settings.limits.scanTimeoutMs + (this.options.graceMs ?? DEFAULT_GRACE_MS);
  }

  private finishJob(entry: PoolWorker): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.job = undefined;
  }

  /** Takes the worker out of service at once, so no job is dispatched to it, then starts another. */
  private async replace(entry: PoolWorker): Promise<void> {
    const index = this.workers.indexOf(entry);
    if (index >= 0) {
      this.workers.splice(index, 1);
    }
    await this.retire(entry);
    if (this.closed) {
      return;
    }
    try {
      await this.spawn();
    } catch (error: unknown) {
      this.options.logger.error('scan worker could not be restarted', { error: String(error) });
      this.failQueued();
    }
  }

  private async retire(entry: PoolWorker): Promise<void> {
    if (entry.retired) {
      return;
    }
    entry.retired = true;
    clearTimeout(entry.timer);
    const { worker } = entry;
    if (worker.exitCode !== null || worker.signalCode !== null) {
      return;
    }
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGKILL');
    await exited;
  }

  /** With no worker left, queued messages still get a verdict rather than waiting forever. */
  private failQueued(): void {
    if (this.workers.length > 0) {
      return;
    }
    for (const job of this.queue.splice(0)) {
      job.resolve(this.failedResult('scan.failed', 'no scan worker is running'));
    }
  }

  private failedResult(signature: string, reason: string): ScanResult {
    const finding: Finding = {
      stage: 'extract',
      engine: 'scan-pool',
      category: 'unscannable',
      signature,
      reason,
      mimePath: '',
    };
    return {
      verdict: {
        category: 'unscannable',
        action: this.options.settings.actions.unscannable,
        findings: [finding],
        durationMs: 0,
      },
      summary: { recipients: [] },
      defects: [],
    };
  }
}
