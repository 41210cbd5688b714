// Entry point of a scan worker process, started by scan-pool.ts with an IPC channel.
import { readFile, rm } from 'node:fs/promises';

import { loadSettings, type Settings } from '../config/settings.js';
import { createRuleHook } from '../rules/evaluate-rules.js';
import { loadRuleSetFile } from '../rules/rule-file.js';
import { createRulesFromSettings } from '../rules/rule-source.js';
import { toError } from '../shared/errors.js';
import { silentLogger } from '../shared/logger.js';
import { createEngines } from './engines.js';
import { createInProcessScanner } from './message-scanner.js';
import { createPipeline } from './pipeline.js';
import {
  WORKER_RULES_VARIABLE,
  WORKER_SETTINGS_VARIABLE,
  type WorkerReply,
  type WorkerRequest,
} from './scan-worker-protocol.js';
import type { RuleHook } from './types.js';

function send(reply: WorkerReply): void {
  process.send?.(reply);
}

async function serve(): Promise<void> {
  if (!process.send) {
    throw new Error('scan-worker must be started by the scan pool with an IPC channel');
  }
  // The pool ends workers on close; a parent that dies without doing so ends them too, also while
  // the worker is still starting (loading a model or a rule set).
  process.on('disconnect', () => process.exit(0));
  try {
    const env = JSON.parse(process.env[WORKER_SETTINGS_VARIABLE] ?? '{}') as Record<string, string>;
    const settings = loadSettings(env);
    // The command line reads rules only from MAILSWEEP_RULES_PATH; the scan-queue consumer also
    // reads the rule store, which each worker refreshes on its own.
    const rules =
      process.env[WORKER_RULES_VARIABLE] === 'store'
        ? await createRulesFromSettings(settings, silentLogger)
        : await fileRules(settings);
    const pipeline = createPipeline({
      limits: settings.limits,
      actions: settings.actions,
      engines: await createEngines(settings),
      logger: silentLogger,
      rules,
    });
    const scanner = createInProcessScanner(pipeline);
    process.on('message', (request: WorkerRequest) => {
      // The spooled copy is removed as soon as it is read, so an interrupted run leaves none behind.
      const raw =
        'raw' in request
          ? Promise.resolve(request.raw)
          : readFile(request.file).finally(() => rm(request.file, { force: true }));
      raw.then((bytes) => scanner.scan(bytes, request.context)).then(
        (result) => send({ type: 'result', id: request.id, result }),
        (thrown: unknown) => send({ type: 'failed', id: request.id, error: toError(thrown).message }),
      );
    });
    send({ type: 'ready' });
  } catch (thrown: unknown) {
    send({ type: 'startup-failed', error: toError(thrown).message });
    process.disconnect();
  }
}


async function fileRules(settings: Settings): Promise<RuleHook | undefined> {
  if (settings.rules.path === undefined) {
    return undefined;
  }
  const ruleSet = await loadRuleSetFile(settings.rules.path, settings.rules.maxRules);
  return createRuleHook({ current: () => ruleSet });
}

await serve();
