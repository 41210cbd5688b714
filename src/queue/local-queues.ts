import { InProcessQueue, type InProcessQueueOptions } from './in-process-queue.js';

const queues = new Map<string, InProcessQueue>();

/**
 * Returns this process's in-process queue of a name, creating it with `options` on first use.
 * The endpoints that send and the local host that consumes must share one instance.
 */
export function getLocalQueue(name: string, options: InProcessQueueOptions = {}): InProcessQueue {
  let queue = queues.get(name);
  if (queue === undefined) {
    queue = new InProcessQueue(options);
    queues.set(name, queue);
  }
  return queue;
}
