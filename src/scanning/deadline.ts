import type { Deadline } from './types.js';

/** Creates a deadline `ms` milliseconds from now, read from the monotonic clock. */
export function createDeadline(ms: number): Deadline {
  const expiresAt = performance.now() + ms;
  return {
    expiresAt,
    expired: () => performance.now() > expiresAt,
  };
}
