import { loadSettings, type Settings } from '../../src/config/settings.js';
import { createEmbeddedEngines } from '../../src/scanning/engines.js';
import { createPipeline, type Pipeline } from '../../src/scanning/pipeline.js';
import { silentLogger } from '../../src/shared/logger.js';

/** Settings as a deployment with the given overrides would load them. */
export function testSettings(overrides: Record<string, string> = {}): Settings {
  return loadSettings({ MAILSWEEP_ORG_DOMAINS: 'contoso.com', ...overrides });
}

/** Builds the full embedded pipeline, as the command line does. */
export async function createTestPipeline(overrides: Record<string, string> = {}): Promise<Pipeline> {
  const settings = testSettings(overrides);
  return createPipeline({
    limits: settings.limits,
    actions: settings.actions,
    engines: await createEmbeddedEngines(settings),
    logger: silentLogger,
  });
}
