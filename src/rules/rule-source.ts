import type { Settings } from '../config/settings.js';
import { createQuarantineContainerClient } from '../quarantine/blob-container.js';
import type { RuleHook } from '../scanning/types.js';
import { toError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { CompiledRuleSet } from './compile-rules.js';
import { createRuleHook } from './evaluate-rules.js';
import { RuleSetError } from './rule-errors.js';
import { loadRuleSetFile } from './rule-file.js';
import { createRuleStore, type RuleStore } from './rule-store.js';

/** The rule set in force for a running scanner, reloaded from the rule store as it changes. */
export interface RuleSource {
  /** The last rule set that compiled, or undefined when none is stored. */
  current(): CompiledRuleSet | undefined;
  /**
   * Reads the store and compiles a new version if there is one. A version that fails to compile
   * is logged and the previous rule set stays in force.
   */
  refresh(): Promise<void>;
}

/** Options of {@link createStoreRuleSource}. */
export interface StoreRuleSourceOptions {
  store: RuleStore;
  logger: Logger;
  /** Minimum time between reads of the store, in milliseconds. */
  refreshMs: number;
  now?: () => number;
}

/**
 * Creates a source that follows the rule store. `current()` does not wait for storage. When the
 * last read is older than `refreshMs`, it starts a read in the background and returns the set in
 * force until that read finishes.
 */
export function createStoreRuleSource(options: StoreRuleSourceOptions): RuleSource {
  const now = options.now ?? Date.now;
  let inForce: CompiledRuleSet | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | undefined;
  let rejectedVersion: number | undefined;

  const load = async (): Promise<void> => {
    checkedAt = now();
    const stored = await options.store.read();
    if (
      stored === undefined ||
      stored.version === inForce?.version ||
      stored.version === rejectedVersion
    ) {
      return;
    }
    try {
      inForce = await options.store.compile(stored.ruleSet, stored.version);
      options.logger.info('Rule set loaded', { version: stored.version, rules: inForce.ruleCount });
    } catch (error) {
      // A set that compiled when it was stored can fail later, when a list blob is removed.
      rejectedVersion = stored.version;
      const problems = error instanceof RuleSetError ? error.issues.length : 1;
      options.logger.error('Rule set version rejected; the previous version stays in force', {
        version: stored.version,
        inForce: inForce?.version,
        problems,
        error: toError(error).message,
      });
    }
  };
  const refresh = (): Promise<void> => {
    pending ??= load()
      .catch((error: unknown) => {
        options.logger.warn('Reading the rule store failed; the rule set in force is kept', {
          error: toError(error).message,
        });
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  return {
    current() {
      if (now() - checkedAt >= options.refreshMs) {
        void refresh();
      }
      return inForce;
    },
    refresh,
  };
}

/**
 * Builds the pipeline's rule hook from settings: the file MAILSWEEP_RULES_PATH when set, else the
 * rule store when storage is configured, else undefined (no rules). The store is read once before
 * this resolves, so the first message is evaluated with the stored set.
 * @throws RuleSetError when MAILSWEEP_RULES_PATH names an invalid rule set.
 */
export async function createRulesFromSettings(
  settings: Settings,
  logger: Logger,
): Promise<RuleHook | undefined> {
  if (settings.rules.path !== undefined) {
    const compiled = await loadRuleSetFile(settings.rules.path, settings.rules.maxRules);
    return createRuleHook({ current: () => compiled });
  }
  const { connectionString, blobServiceUri } = settings.quarantine;
  if (connectionString === undefined && blobServiceUri === undefined) {
    return undefined;
  }
  const source = createStoreRuleSource({
    store: openRuleStore(settings),
    logger,
    refreshMs: settings.rules.refreshSeconds * 1000,
  });
  await source.refresh();
  return createRuleHook({ current: () => source.current() });
}

/** Opens the rule store in the quarantine's storage account, container MAILSWEEP_RULES_CONTAINER. */
export function openRuleStore(settings: Settings): RuleStore {
  const container = createQuarantineContainerClient({
    settings: { ...settings.quarantine, container: settings.rules.container },
  });
  return createRuleStore(container, settings.rules.maxRules);
}
