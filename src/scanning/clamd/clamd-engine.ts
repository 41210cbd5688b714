import type { ClamdSettings, EngineFailurePolicy } from '../../config/settings.js';
import { type DaemonEngine, type DaemonVersion, engineFailure, toFailureFinding } from '../daemon-engine.js';
import type { Deadline, EngineResult, Finding, MessageView, ScanEngine } from '../types.js';
import { type ClamdClient, createClamdClient } from './clamd-client.js';
import type { ClamdScanResult, ClamdVersion } from './clamd-reply.js';

const ENGINE_NAME = 'clamd';

/**
 * clamd reports these when one of its own scan limits (file size, recursion, scan time) stopped
 * the scan, with `AlertExceedsMax yes`. They mean "not fully scanned", not malware.
 */
const LIMIT_SIGNATURE_PREFIX = 'Heuristics.Limits.Exceeded';

/** Options of {@link createClamdEngine}. */
export interface ClamdEngineOptions {
  /** Address, scan mode, pool size, timeouts and StreamMaxLength; `host` must be set. */
  settings: ClamdSettings;
  /** Failure policy for a daemon that is down, silent or returns an invalid response. */
  failurePolicy: EngineFailurePolicy;
  /** Client to use instead of one built from `settings`; for tests. */
  client?: ClamdClient;
}

/**
 * Creates the clamd antivirus engine (`clamd`). In `parts` mode every non-empty part that
 * extraction produced (MIME leaves, nested messages, archive members, uuencode and TNEF files) is
 * streamed on its own, so a detection names its MIME path and a part clamd would not find inside a
 * message (a TNEF attachment, a uuencode block) is still scanned. In `message` mode the raw message
 * is streamed once and clamd's own mail parser opens it.
 *
 * Findings: clamd's signature name (malware), `clamd.stream-max-length` for an object larger than
 * StreamMaxLength and `clamd.scan-limit` for clamd's own limits (unscannable, not transient), and
 * an `engine.*` failure finding when clamd cannot answer.
 */
export function createClamdEngine(options: ClamdEngineOptions): DaemonEngine {
  const { settings, failurePolicy } = options;
  const client = options.client ?? createClamdClient(requireHost(settings));
  const engine: DaemonEngine = {
    name: ENGINE_NAME,
    stage: 'antivirus',
    scan: (view, deadline) => scanView(engine, client, view, deadline, settings, failurePolicy),
    probe: async (timeoutMs) => toProbe(await client.version(performance.now() + timeoutMs)),
  };
  return engine;
}

function requireHost(settings: ClamdSettings) {
  if (!settings.host) {
    throw new TypeError('clamd engine needs settings.host (MAILSWEEP_CLAMD_HOST)');
  }
  return { ...settings, host: settings.host };
}

function toProbe(version: ClamdVersion): DaemonVersion {
  return version.signatureDate === undefined
    ? { version: version.version }
    : { version: version.version, signatureDate: version.signatureDate };
}

/** One object to stream, with the MIME path its findings carry. */
interface ScanTarget {
  path: string;
  bytes: Uint8Array;
}

function toTargets(view: MessageView, mode: ClamdSettings['scan']): ScanTarget[] {
  if (mode === 'message') {
    return [{ path: '', bytes: view.raw }];
  }
  return view.parts
    .filter((part) => part.content.length > 0)
    .map((part) => ({ path: part.path, bytes: part.content }));
}

/**
 * Streams each target in turn. The first failure ends the scan with a failure finding: the
 * message is unscannable either way, and further requests to a failing daemon only add delay.
 * Detections found before the failure are kept, so malware already found still decides.
 */
async function scanView(
  engine: ScanEngine,
  client: ClamdClient,
  view: MessageView,
  deadline: Deadline,
  settings: ClamdSettings,
  failurePolicy: EngineFailurePolicy,
): Promise<EngineResult> {
  const findings: Finding[] = [];
  for (const target of toTargets(view, settings.scan)) {
    if (target.bytes.length > settings.streamMaxBytes) {
      findings.push(sizeLimitFinding(target.path, settings.streamMaxBytes));
      continue;
    }
    try {
      const result = await client.scan(target.bytes, deadline.expiresAt);
      if (result.kind === 'error') {
        // An ERROR reply (out of memory, a failed temporary file) is the daemon's problem, not
        // the message's, so it follows the failure policy like an unreachable daemon.
        throw engineFailure(ENGINE_NAME, 'error', 'clamd returned ERROR');
      }
      const finding = toFinding(result, target.path, settings.streamMaxBytes);
      if (finding) {
        findings.push(finding);
      }
    } catch (error: unknown) {
      findings.push(toFailureFinding(engine, error, failurePolicy));
      break;
    }
  }
  return { findings };
}

function toFinding(result: ClamdScanResult, path: string, streamMaxBytes: number): Finding | undefined {
  switch (result.kind) {
    case 'clean':
      return undefined;
    case 'size-limit':
      // The daemon's StreamMaxLength is lower than MAILSWEEP_CLAMD_STREAM_MAX_BYTES says.
      return sizeLimitFinding(path, streamMaxBytes);
    case 'error':
      return undefined;
    case 'found':
      return toDetection(result.signature, path);
  }
}

function toDetection(signature: string, path: string): Finding {
  if (signature.startsWith(LIMIT_SIGNATURE_PREFIX)) {
    return {
      stage: 'antivirus',
      engine: ENGINE_NAME,
      category: 'unscannable',
      signature: 'clamd.scan-limit',
      reason: `clamd stopped scanning at one of its limits (${signature})`,
      mimePath: path,
    };
  }
  return {
    stage: 'antivirus',
    engine: ENGINE_NAME,
    category: 'malware',
    signature,
    reason: `clamd found ${signature}`,
    mimePath: path,
  };
}

function sizeLimitFinding(path: string, streamMaxBytes: number): Finding {
  return {
    stage: 'antivirus',
    engine: ENGINE_NAME,
    category: 'unscannable',
    signature: 'clamd.stream-max-length',
    reason: `part is larger than clamd's stream limit of ${streamMaxBytes} bytes and was not scanned by clamd`,
    mimePath: path,
  };
}
