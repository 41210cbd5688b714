import { loadSettings } from '../config/settings.js';
import { createEngines, isDaemonEngine } from '../scanning/engines.js';
import type { ScanEngine } from '../scanning/types.js';
import { toError } from '../shared/errors.js';

/** Time one daemon has to answer a health probe, in milliseconds. */
const PROBE_TIMEOUT_MS = 3_000;

/** Health of one engine. Embedded engines have no daemon and are always `ok`. */
export interface EngineHealth {
  name: string;
  stage: string;
  status: 'ok' | 'failed';
  /** Daemon version (`ClamAV 1.4.6`, `rspamd/3.4`); absent for embedded engines. */
  version?: string;
  /** Build time of the daemon's signature database (ISO 8601), when it reports one. */
  signatureDate?: string;
  /** Why a daemon did not answer, without addresses or secrets. */
  error?: string;
}

/** The body of GET /api/health. */
export interface HealthReport {
  /** `failed` when settings are invalid or any engine's daemon does not answer. */
  status: 'ok' | 'failed';
  engines: EngineHealth[];
  /** Reason start-up would fail, naming setting keys but never their values. */
  error?: string;
}

/**
 * Builds the engines that settings choose, as a scan would; for repeated probes, build once with
 * {@link createHealthEngines} and call {@link probeEngines}.
 * @throws ScannerError `config-invalid` or `model-invalid`, as `createEngines` does.
 */
export async function createHealthEngines(env: Record<string, string | undefined>): Promise<ScanEngine[]> {
  return createEngines(loadSettings(env));
}

/** Asks every daemon engine for its version, all at once, and reports each engine's status. */
export async function probeEngines(engines: readonly ScanEngine[]): Promise<HealthReport> {
  const reports = await Promise.all(engines.map((engine) => probeEngine(engine)));
  const status = reports.every((report) => report.status === 'ok') ? 'ok' : 'failed';
  return { status, engines: reports };
}

async function probeEngine(engine: ScanEngine): Promise<EngineHealth> {
  const base = { name: engine.name, stage: engine.stage };
  if (!isDaemonEngine(engine)) {
    return { ...base, status: 'ok' };
  }
  try {
    return { ...base, status: 'ok', ...(await engine.probe(PROBE_TIMEOUT_MS)) };
  } catch (thrown: unknown) {
    return { ...base, status: 'failed', error: toError(thrown).message };
  }
}

/** Loads settings, builds the engines, probes their daemons, and reports whether all of it worked. */
export async function describeHealth(env: Record<string, string | undefined>): Promise<HealthReport> {
  let engines: ScanEngine[];
  try {
    engines = await createHealthEngines(env);
  } catch (thrown: unknown) {
    return { status: 'failed', engines: [], error: toError(thrown).message };
  }
  return probeEngines(engines);
}
