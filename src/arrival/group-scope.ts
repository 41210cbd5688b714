import type { Settings } from '../config/settings.js';
import type { DirectoryClient } from '../graph/subscription-client.js';
import type { CompiledRuleSet } from '../rules/compile-rules.js';
import { loadRuleSetFile } from '../rules/rule-file.js';
import { createStoreRuleSource, openRuleStore } from '../rules/rule-source.js';
import { ScannerError, toError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/** An Entra object id; other scope entries (display names) are not looked up in Graph. */
const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The groups that the rule set in force names in its scopes, and the set's version. */
export interface RuleGroups {
  version?: number;
  groups: readonly string[];
}

/** Options of {@link GroupScope}. */
export interface GroupScopeOptions {
  directory: DirectoryClient;
  /** Returns the groups of the rule set in force. */
  ruleGroups: () => RuleGroups;
  /** How long one group's members are kept, in milliseconds. */
  ttlMs: number;
  logger: Logger;
  now?: () => number;
}

interface CachedMembers {
  members: ReadonlySet<string>;
  expiresAt: number;
}

/**
 * Finds the groups named in rule scopes that a mailbox belongs to, directly or through nested
 * groups, so that the scan context carries them. Members are read with Graph's transitiveMembers
 * and cached per rule set version and group for `ttlMs`, so that a new version reads them again.
 */
export class GroupScope {
  private readonly cache = new Map<string, Promise<CachedMembers>>();
  private readonly now: () => number;

  constructor(private readonly options: GroupScopeOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Returns the scope groups (object ids) the mailbox is a member of.
   * @throws ScannerError when Graph fails transiently, so that the job is retried rather than
   *   scanned without its group rules.
   */
  async groupsOf(mailbox: string): Promise<string[]> {
    const { version, groups } = this.options.ruleGroups();
    const address = mailbox.toLowerCase();
    const found: string[] = [];
    for (const group of groups) {
      if (!OBJECT_ID.test(group)) {
        continue;
      }
      const members = await this.membersOf(version, group);
      if (members.has(address)) {
        found.push(group);
      }
    }
    return found;
  }

  private membersOf(version: number | undefined, group: string): Promise<ReadonlySet<string>> {
    const key = `${version ?? 'file'}:${group.toLowerCase()}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      return cached.then((entry) => {
        if (entry.expiresAt > this.now()) {
          return entry.members;
        }
        this.cache.delete(key);
        return this.membersOf(version, group);
      });
    }
    const loading = this.load(group);
    // A transient failure is not cached, so that the next job reads Graph again.
    loading.catch(() => this.cache.delete(key));
    this.cache.set(key, loading);
    this.dropOtherVersions(version);
    return loading.then((entry) => entry.members);
  }

  private async load(group: string): Promise<CachedMembers> {
    const expiresAt = this.now() + this.options.ttlMs;
    try {
      const members = await this.options.directory.listGroupMailboxes(group);
      return { members: new Set(members.map((member) => member.toLowerCase())), expiresAt };
    } catch (error) {
      if (error instanceof ScannerError && !error.transient) {
        // A group that does not exist (or was deleted) has no members until the cache expires.
        this.options.logger.warn('group in a rule scope could not be read; treated as empty', {
          group,
          code: error.code,
        });
        return { members: new Set(), expiresAt };
      }
      throw error;
    }
  }

  private dropOtherVersions(version: number | undefined): void {
    const prefix = `${version ?? 'file'}:`;
    for (const key of this.cache.keys()) {
      if (!key.startsWith(prefix)) {
        this.cache.delete(key);
      }
    }
  }
}

/** Lists the distinct groups that the rules of a compiled set name in their scopes. */
export function toRuleGroups(ruleSet: CompiledRuleSet | undefined): RuleGroups {
  if (ruleSet === undefined) {
    return { groups: [] };
  }
  const groups = new Set<string>();
  for (const rules of Object.values(ruleSet.byPoint)) {
    for (const rule of rules) {
      for (const group of rule.scope?.groups ?? []) {
        groups.add(group);
      }
    }
  }
  return { version: ruleSet.version, groups: [...groups] };
}

/**
 * Follows the rule set the scan workers use (MAILSWEEP_RULES_PATH, else the rule store) and returns
 * its scope groups. Returns undefined when no rule source is configured.
 */
export async function followRuleGroups(
  settings: Settings,
  logger: Logger,
): Promise<(() => RuleGroups) | undefined> {
  if (settings.rules.path !== undefined) {
    const compiled = await loadRuleSetFile(settings.rules.path, settings.rules.maxRules);
    const groups = toRuleGroups(compiled);
    return () => groups;
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
  await source.refresh().catch((error: unknown) => {
    logger.warn('reading the rule store for scope groups failed', {
      error: toError(error).message,
    });
  });
  return () => toRuleGroups(source.current());
}
