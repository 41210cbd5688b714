import type { Settings } from '../config/settings.js';
import { ScannerError } from '../shared/errors.js';
import { describeFileError, fileErrorCode } from '../shared/file-errors.js';
import { createEmbeddedAntiphishing, loadUrlFeed } from './antiphishing/index.js';
import { createEmbeddedAntispam, loadSpamModel } from './antispam/index.js';
import { createEmbeddedAntivirus, loadHashBlocklist } from './antivirus/index.js';
import { createClamdEngine } from './clamd/index.js';
import { createRspamdEngine } from './rspamd/index.js';
import type { ScanEngine } from './types.js';

export { isDaemonEngine, shouldRetry } from './daemon-engine.js';

/**
 * Builds the embedded engines (no daemons) from settings, loading the hash blocklist, URL feed and
 * spam model files they name.
 * @throws ScannerError `config-invalid` or `model-invalid` when a named file is malformed.
 */
export async function createEmbeddedEngines(settings: Settings): Promise<ScanEngine[]> {
  const hashBlocklist = settings.antivirus.hashBlocklistPath
    ? await loadHashBlocklist(settings.antivirus.hashBlocklistPath)
    : undefined;
  const urlFeed = settings.antiphishing.urlFeedPath
    ? await loadUrlFeed(settings.antiphishing.urlFeedPath)
    : undefined;
  const model = await loadSpamModel(settings.spam.modelPath).catch((error: unknown) => {
    if (!settings.spam.modelPath) {
      throw error;
    }
    const code = error instanceof ScannerError ? error.code : 'model-invalid';
    const message =
      fileErrorCode(error) === undefined
        ? `MAILSWEEP_SPAM_MODEL_PATH: ${settings.spam.modelPath} is not a valid spam model; ` +
          'retrain it with `mailsweep train`, or unset it for the shipped model'
        : `MAILSWEEP_SPAM_MODEL_PATH: ${settings.spam.modelPath} ${describeFileError(error)}; ` +
          'set it to a model written by `mailsweep train`, or unset it for the shipped model';
    throw new ScannerError(code, message, { cause: error });
  });

  return [
    createEmbeddedAntivirus({ hashBlocklist }),
    createEmbeddedAntispam({ model, threshold: settings.spam.threshold }),
    createEmbeddedAntiphishing({
      organizationDomains: settings.antiphishing.organizationDomains,
      urlFeed,
      maxHtmlBytes: settings.limits.maxHtmlBytes,
    }),
  ];
}

/**
 * Builds the engines that settings choose for each stage: the embedded ones, clamd
 * (MAILSWEEP_ENGINES_ANTIVIRUS) and rspamd (MAILSWEEP_ENGINES_ANTISPAM), in the order the
 * settings list them. The embedded antiphishing engine always runs. Daemon engines open no
 * connection until their first scan, so building them never fails on a daemon that is down.
 * @throws ScannerError `config-invalid` or `model-invalid` when a file the settings name is malformed.
 */
export async function createEngines(settings: Settings): Promise<ScanEngine[]> {
  const [embeddedAntivirus, embeddedAntispam, embeddedAntiphishing] = await createEmbeddedEngines(settings);
  const failurePolicy = settings.engines.failure;
  const engines: ScanEngine[] = [];
  for (const name of settings.engines.antivirus) {
    engines.push(
      name === 'clamd'
        ? createClamdEngine({ settings: settings.clamd, failurePolicy })
        : requireEngine(embeddedAntivirus),
    );
  }
  for (const name of settings.engines.antispam) {
    engines.push(
      name === 'rspamd'
        ? createRspamdEngine({ settings: settings.rspamd, failurePolicy })
        : requireEngine(embeddedAntispam),
    );
  }
  engines.push(requireEngine(embeddedAntiphishing));
  return engines;
}

function requireEngine(engine: ScanEngine | undefined): ScanEngine {
  if (!engine) {
    throw new TypeError('createEmbeddedEngines returned fewer engines than expected');
  }
  return engine;
}
