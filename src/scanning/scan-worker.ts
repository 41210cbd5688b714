import { parentPort, workerData } from 'node:worker_threads';

import { loadSettings } from '../config/settings.js';
import { createEmbeddedEngines } from './engines.js';
import { createInProcessScanner } from './message-scanner.js';
import { createPipeline } from './pipeline.js';
import { silentLogger } from '../shared/logger.js';
import { toError } from '../shared/errors.js';

/** A job sent by the pool: one raw message. */
export interface WorkerRequest {
  id: number;
  raw: Uint8Array;
}

/** The worker's reply: a result, or why scanning failed. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'startup-failed'; error: string }
  | { type: 'result'; id: number; result: import('./message-scanner.js').ScanResult }
  | { type: 'failed'; id: number; error: string };

const port = parentPort;
if (!port) {
  throw new Error('scan-worker.js must run as a worker thread');
}

try {
  const settings = loadSettings(workerData as Record<string, string>);
  const pipeline = createPipeline({
    limits: settings.limits,
    actions: settings.actions,
    engines: await createEmbeddedEngines(settings),
    logger: silentLogger,
  });
  const scanner = createInProcessScanner(pipeline);
  port.on('message', (request: WorkerRequest) => {
    scanner.scan(request.raw).then(
      (result) => port.postMessage({ type: 'result', id: request.id, result } satisfies WorkerReply),
      (thrown: unknown) =>
        port.postMessage({ type: 'failed', id: request.id, error: toError(thrown).message } satisfies WorkerReply),
    );
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
} catch (thrown: unknown) {
  port.postMessage({ type: 'startup-failed', error: toError(thrown).message } satisfies WorkerReply);
}
