import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { settingsSchema } from '../../src/config/settings.js';
import { registeredFunctions } from '../../src/functions-host/registry.js';
import * as jobs from '../../src/queue/jobs.js';
import { STATE_TABLES } from '../../src/state/tables.js';
import { REPOSITORY_ROOT } from './arm-template.js';

/**
 * What the code needs from Azure, read from the code itself: the settings schema's keys, the
 * queue, table and container names, and the data-plane operations each Azure SDK is used for.
 * The consistency test compares this inventory with the compiled template, so a new setting,
 * table, queue or SDK call shows up as a failure until the template covers it.
 */

/** Every app setting key the strict settings schema accepts. */
export function settingKeys(): string[] {
  return Object.keys(settingsSchema.shape);
}

/** The default value of a setting, or undefined when it has none. */
export function settingDefault(key: string): unknown {
  const schema = settingsSchema.shape[key as keyof typeof settingsSchema.shape];
  const result = schema.safeParse(undefined);
  return result.success ? result.data : undefined;
}

/** Settings that name a blob container in the data storage account. */
export function containerSettingKeys(): string[] {
  return settingKeys().filter((key) => key.endsWith('_CONTAINER'));
}

/** Table names from STATE_TABLES. */
export function codeTableNames(): string[] {
  return Object.values(STATE_TABLES);
}

/** Queues the code sends to: every `*_QUEUE_NAME` string exported by src/queue/jobs.ts. */
export function codeSendQueueNames(): string[] {
  return Object.entries(jobs)
    .filter(([name, value]) => name.endsWith('QUEUE_NAME') && typeof value === 'string')
    .map(([, value]) => value as string);
}

/** Queues the Functions host receives from: the registered queue consumers of functions/. */
export async function codeReceiveQueueNames(): Promise<string[]> {
  await import('../../functions/index.js');
  return [...new Set(registeredFunctions().queues.map((consumer) => consumer.queueName))];
}

/** Azure service whose data plane the app calls. */
export type DataPlaneService = 'blob' | 'table' | 'service-bus' | 'key-vault';

/** One data-plane operation, e.g. `blob:write`. */
export type DataPlaneOperation = `${DataPlaneService}:${string}`;

/**
 * SDK methods per data-plane operation. A source file that imports the SDK package (a type-only
 * import included) and calls one of the methods performs the operation.
 */
const SDK_OPERATIONS: readonly {
  sdk: string;
  operation: DataPlaneOperation;
  methods: readonly string[];
}[] = [
  {
    sdk: '@azure/storage-blob',
    operation: 'blob:read',
    methods: ['download', 'downloadToBuffer', 'getProperties', 'exists', 'listBlobsFlat', 'listBlobsByHierarchy'],
  },
  {
    sdk: '@azure/storage-blob',
    operation: 'blob:write',
    methods: ['upload', 'uploadData', 'uploadStream', 'stageBlock', 'commitBlockList', 'delete', 'deleteIfExists', 'setMetadata', 'setHTTPHeaders', 'create', 'createIfNotExists', 'beginCopyFromURL', 'syncCopyFromURL', 'setImmutabilityPolicy', 'setLegalHold'],
  },
  {
    sdk: '@azure/storage-blob',
    operation: 'blob:tags',
    methods: ['setTags', 'getTags', 'findBlobsByTags'],
  },
  {
    sdk: '@azure/data-tables',
    operation: 'table:read',
    methods: ['getEntity', 'listEntities'],
  },
  {
    sdk: '@azure/data-tables',
    operation: 'table:write',
    methods: ['createEntity', 'upsertEntity', 'updateEntity', 'deleteEntity', 'submitTransaction', 'createTable', 'deleteTable'],
  },
  {
    sdk: '@azure/service-bus',
    operation: 'service-bus:send',
    methods: ['createSender', 'sendMessages', 'scheduleMessages'],
  },
  {
    sdk: '@azure/service-bus',
    operation: 'service-bus:receive',
    methods: ['createReceiver', 'receiveMessages', 'subscribe', 'peekMessages'],
  },
  {
    sdk: '@azure/service-bus',
    operation: 'service-bus:read-queue',
    methods: ['getQueueRuntimeProperties', 'getQueue', 'listQueues'],
  },
  {
    sdk: '@azure/keyvault-secrets',
    operation: 'key-vault:get-secret',
    methods: ['getSecret'],
  },
];

/** One operation and the source files that perform it. */
export interface FoundOperation {
  operation: DataPlaneOperation;
  files: string[];
}

/**
 * Lists the data-plane operations that the code under src/ and functions/ performs through the
 * Azure SDKs. The Functions host's own receive from a queue trigger is not a source call, so the
 * caller adds it from the registered consumers.
 */
export function findDataPlaneOperations(): FoundOperation[] {
  const found = new Map<DataPlaneOperation, Set<string>>();
  for (const file of sourceFiles()) {
    const text = readFileSync(file, 'utf8');
    for (const { sdk, operation, methods } of SDK_OPERATIONS) {
      if (!importsPackage(text, sdk)) {
        continue;
      }
      const call = new RegExp(`\\.(?:${methods.join('|')})\\s*\\(`);
      if (call.test(text)) {
        const files = found.get(operation) ?? new Set<string>();
        files.add(path.relative(REPOSITORY_ROOT, file));
        found.set(operation, files);
      }
    }
  }
  return [...found].map(([operation, files]) => ({ operation, files: [...files].sort() }));
}

function importsPackage(text: string, sdk: string): boolean {
  return text.includes(`from '${sdk}'`);
}

function sourceFiles(): string[] {
  return ['src', 'functions'].flatMap((folder) => listTypeScript(path.join(REPOSITORY_ROOT, folder)));
}

function listTypeScript(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) {
      return listTypeScript(full);
    }
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}
