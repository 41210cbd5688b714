import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs an operation, and again after each delay while it fails and `shouldRetry` allows it. Each
 * delay gets up to 20% random jitter. Rethrows the last error.
 */
export async function retryWithBackoff<T>(
  operation: () => Promise<T>,
  delaysMs: readonly number[],
  shouldRetry: (error: unknown) => boolean,
  onRetry?: (error: unknown, attempt: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      const delay = delaysMs[attempt];
      if (delay === undefined || !shouldRetry(error)) {
        throw error;
      }
      onRetry?.(error, attempt + 1);
      await sleep(delay * (1 + Math.random() * 0.2));
    }
  }
}
