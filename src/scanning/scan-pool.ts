import { Worker } from 'node:worker_threads';

import type { Settings } from '../config/settings.js';
import { ScannerError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { MessageScanner, ScanResult } from './message-scanner.js';
import type { WorkerReply, WorkerRequest } from './scan-worker.js';
import type { Finding } from './types.js';

/** Options of {@link createScanPool}. */
export interface ScanPoolOptions {
  /** Validated settings; the workers load the same ones from `env`. */
  settings: Settings;
  /** The MAILSWEEP_* variables the settings came from, handed to each worker. */
  env: Record<string, string>;
  /** Worker threads, each scanning one message at a time. */
  size: number;
  logger: Logger;
  /** Time a worker gets beyond the scan deadline before it is terminated; default 5,000 ms. */
  graceMs?: number;
}

const DEFAULT_GRACE_MS = 5_000;

// Compiled, this module sits next to scan-worker.js and the worker loads it directly. Run from
// source (the tests, under tsx), the worker first registers tsx's loader in its own thread, because
// Node 20 does not pass the parent's --import hooks on to worker threads.
const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_SCRIPT = RUNNING_FROM_SOURCE
  ? `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(
      new URL('./scan-worker.ts', import.meta.url).href,
    )}); });`
  : new URL('./scan-worker.js', import.meta.url);

interface Job {
  id: number;
  raw: Uint8Array;
  resolve(result: ScanResult): void;
}

interface PoolWorker {
  worker: Worker;
  job?: Job;
  timer?: NodeJS.Timeout;
  /** Set when the pool itself ended the worker, so its exit is not treated as a crash. */
  retired: boolean;
}

/**
 * Scans messages in worker threads, so that a message can never stop the caller: a worker that
 * passes the scan timeout plus a grace period is terminated, and one that runs out of its V8 heap
 * (`MAILSWEEP_WORKER_MAX_HEAP_MB`) dies alone. Either way the message gets an `unscannable`
 * verdict and a fresh worker takes the next message. This is the hard limit behind the pipeline's
 * cooperative deadline, which cannot interrupt a synchronous step inside a library.
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

  constructor(options: ScanPoolOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    const started = await Promise.allSettled(
      Array.from({ length: this.options.size }, () => this.spawn()),
    );
    const failure = started.find((result) => result.status === 'rejected');
    if (failure) {
      await this.close();
      throw failure.reason;
    }
  }

  scan(raw: Uint8Array): Promise<ScanResult> {
    if (this.closed) {
      return Promise.reject(new ScannerError('engine-failed', 'the scan pool is closed'));
    }
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, raw, resolve });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((entry) => this.retire(entry)));
    this.workers.length = 0;
  }

  private spawn(): Promise<void> {
    const { settings, env } = this.options;
    const worker = new Worker(WORKER_SCRIPT, {
      eval: RUNNING_FROM_SOURCE,
      workerData: env,
      resourceLimits: { maxOldGenerationSizeMb: settings.workers.maxHeapMb },
    });
    const entry: PoolWorker = { worker, retired: false };
    return new Promise((resolve, reject) => {
      const onStartupExit = (): void =>
        reject(new ScannerError('config-invalid', 'a scan worker exited during start-up'));
      const onStartupError = (error: Error): void =>
        reject(new ScannerError('config-invalid', `a scan worker failed to start: ${error.message}`, { cause: error }));
      worker.once('exit', onStartupExit);
      worker.once('error', onStartupError);
      worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') {
          worker.off('exit', onStartupExit);
          worker.off('error', onStartupError);
          worker.on('exit', () => this.onExit(entry));
          worker.on('error', (error) => this.onError(entry, error));
          this.workers.push(entry);
          this.dispatch();
          resolve();
        } else if (reply.type === 'startup-failed') {
          worker.off('exit', onStartupExit);
          worker.off('error', onStartupError);
          void worker.terminate();
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
      entry.worker.postMessage({ id: job.id, raw: job.raw } satisfies WorkerRequest);
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

  private onError(entry: PoolWorker, error: Error): void {
    const job = entry.job;
    this.finishJob(entry);
    const outOfMemory = (error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
    this.options.logger.error('scan worker failed', { error: error.message, outOfMemory });
    job?.resolve(
      outOfMemory
        ? this.failedResult('limit.memory', `scan exceeded ${this.options.settings.workers.maxHeapMb} MB of heap`)
        : this.failedResult('scan.failed', 'the scan worker failed'),
    );
  }

  private onExit(entry: PoolWorker): void {
    if (entry.retired || this.closed) {
      return;
    }
    const job = entry.job;
    this.finishJob(entry);
    job?.resolve(this.failedResult('scan.failed', 'the scan worker exited'));
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

  private async replace(entry: PoolWorker): Promise<void> {
    await this.retire(entry);
    const index = this.workers.indexOf(entry);
    if (index >= 0) {
      this.workers.splice(index, 1);
    }
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
    await entry.worker.terminate();
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
