import type { Settings } from '../config/settings.js';
import { ScannerError } from '../shared/errors.js';
import { createEmbeddedAntiphishing, loadUrlFeed } from './antiphishing/index.js';
import { createEmbeddedAntispam, loadSpamModel } from './antispam/index.js';
import { createEmbeddedAntivirus, loadHashBlocklist } from './antivirus/index.js';
import type { ScanEngine } from './types.js';

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
    throw new ScannerError(code, 'MAILSWEEP_SPAM_MODEL_PATH names a file that is not a valid spam model; retrain it with `mailsweep train`', { cause: error });
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
