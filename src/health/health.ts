import { loadSettings } from '../config/settings.js';
import { createEmbeddedEngines } from '../scanning/engines.js';
import { toError } from '../shared/errors.js';

/** The body of GET /api/health. */
export interface HealthReport {
  status: 'ok' | 'failed';
  engines: { name: string; stage: string }[];
  /** Reason start-up would fail, naming setting keys but never their values. */
  error?: string;
}

/** Loads settings and builds the engines, as a scan would, and reports whether that worked. */
export async function describeHealth(env: Record<string, string | undefined>): Promise<HealthReport> {
  try {
    const engines = await createEmbeddedEngines(loadSettings(env));
    return { status: 'ok', engines: engines.map(({ name, stage }) => ({ name, stage })) };
  } catch (thrown: unknown) {
    return { status: 'failed', engines: [], error: toError(thrown).message };
  }
}
