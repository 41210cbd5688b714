import type { Settings } from '../config/settings.js';
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
  const model = await loadSpamModel(settings.spam.modelPath);

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
