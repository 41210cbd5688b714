import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';

import {
  isAlreadyExists,
  isNotFound,
  readBlobFailure,
  toBlobScannerError,
} from '../quarantine/blob-errors.js';
import { ScannerError } from '../shared/errors.js';
import { type CompiledRuleSet, compileRuleSet } from './compile-rules.js';
import { RuleSetError } from './rule-errors.js';

/** Blob holding the rule set in force. Each version is also kept as `versions/<n>.json`. */
const CURRENT_BLOB = 'current.json';

/** List files named by a rule set are blobs under this prefix. */
const LIST_PREFIX = 'lists/';

/** A list file name: letters, digits, `_ . -`, without a path. */
export const LIST_FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Largest rule set document accepted, in bytes. */
export const MAX_RULE_SET_BYTES = 4 * 1024 * 1024;

/** A rule set as stored: the document, its version and who wrote it. */
export interface StoredRuleSet {
  version: number;
  updatedAt: string;
  /** Principal id of the administrator who stored it. */
  updatedBy: string;
  ruleSet: unknown;
}

const storedSchema = z.object({
  version: z.number().int().positive(),
  updatedAt: z.string(),
  updatedBy: z.string(),
  ruleSet: z.unknown(),
});

/** The versioned rule store in Blob storage. */
export interface RuleStore {
  /** Reads the rule set in force, or undefined when none was stored. */
  read(): Promise<StoredRuleSet | undefined>;
  /**
   * Validates and stores a new version. With `expectedVersion`, the write fails with
   * `blob-conflict` unless that version is the one in force.
   * @throws RuleSetError when the set is invalid; nothing is written and the old set stays.
   * @throws ScannerError `blob-conflict` when another write came first.
   */
  write(
    ruleSet: unknown,
    options: { updatedBy: string; expectedVersion?: number },
  ): Promise<StoredRuleSet>;
  /** Compiles a rule set, reading its list files from the store. */
  compile(ruleSet: unknown, version?: number): Promise<CompiledRuleSet>;
  /** Reads a list file from `lists/`, or undefined when it does not exist. */
  readList(file: string): Promise<string | undefined>;
  /**
   * Stores a list file under `lists/`. The caller validates the content first.
   * @throws ScannerError `rules-invalid` for a name that is not a list file name.
   */
  writeList(file: string, text: string): Promise<void>;
  /** Deletes a list file; returns false when it did not exist. */
  deleteList(file: string): Promise<boolean>;
}

/** True for a list file name the store accepts: letters, digits, `_ . -`, up to 128 characters. */
export function isListFileName(file: string): boolean {
  return LIST_FILE_NAME.test(file);
}

/** Creates the rule store on a container, which is created on first write if missing. */
export function createRuleStore(container: ContainerClient, maxRules: number): RuleStore {
  const readListFile = async (file: string): Promise<string> => {
    if (!LIST_FILE_NAME.test(file)) {
      throw Object.assign(new Error('invalid list file name'), { code: 'InvalidName' });
    }
    try {
      const content = await container.getBlobClient(`${LIST_PREFIX}${file}`).downloadToBuffer();
      return content.toString('utf8');
    } catch (error) {
      throw Object.assign(new Error('list blob not readable', { cause: error }), {
        code: isNotFound(error) ? 'BlobNotFound' : 'ReadFailed',
      });
    }
  };
  const compile = (ruleSet: unknown, version?: number) =>
    compileRuleSet(ruleSet, { maxRules, readListFile, version });

  const listBlob = (file: string) => {
    if (!LIST_FILE_NAME.test(file)) {
      throw new ScannerError(
        'rules-invalid',
        'A list file name may contain only letters, digits, _ . and -',
      );
    }
    return container.getBlockBlobClient(`${LIST_PREFIX}${file}`);
  };

  return {
    compile,
    read: async () => (await readCurrent(container))?.stored,
    async readList(file) {
      try {
        return (await listBlob(file).downloadToBuffer()).toString('utf8');
      } catch (error) {
        if (isNotFound(error)) {
          return undefined;
        }
        throw error instanceof ScannerError
          ? error
          : toBlobScannerError(error, { operation: 'read list' });
      }
    },
    async writeList(file, text) {
      const blob = listBlob(file);
      await container.createIfNotExists();
      try {
        await blob.upload(text, Buffer.byteLength(text), {
          blobHTTPHeaders: { blobContentType: 'text/plain; charset=utf-8' },
        });
      } catch (error) {
        throw toBlobScannerError(error, { operation: 'store list' });
      }
    },
    async deleteList(file) {
      try {
        return (await listBlob(file).deleteIfExists()).succeeded;
      } catch (error) {
        if (isNotFound(error)) {
          return false;
        }
        throw error instanceof ScannerError
          ? error
          : toBlobScannerError(error, { operation: 'delete list' });
      }
    },
    async write(ruleSet, options) {
      await compile(ruleSet);
      await container.createIfNotExists();
      const current = await readCurrent(container);
      const currentVersion = current?.stored.version ?? 0;
      if (options.expectedVersion !== undefined && options.expectedVersion !== currentVersion) {
        throw conflict(
          `the rule set in force is version ${currentVersion}, not ${options.expectedVersion}`,
        );
      }
      const stored: StoredRuleSet = {
        version: currentVersion + 1,
        updatedAt: new Date().toISOString(),
        updatedBy: options.updatedBy,
        ruleSet,
      };
      const body = JSON.stringify(stored);
      await uploadCreateOnly(
        container,
        `versions/${String(stored.version).padStart(8, '0')}.json`,
        body,
      );
      await uploadCurrent(container, body, current?.etag);
      return stored;
    },
  };
}

async function readCurrent(
  container: ContainerClient,
): Promise<{ stored: StoredRuleSet; etag: string } | undefined> {
  let content: Buffer;
  let etag: string | undefined;
  try {
    const blob = container.getBlobClient(CURRENT_BLOB);
    const properties = await blob.getProperties();
    etag = properties.etag;
    content = await blob.downloadToBuffer(0, undefined, { conditions: { ifMatch: etag } });
  } catch (error) {
    if (isNotFound(error)) {
      return undefined;
    }
    throw toBlobScannerError(error, { operation: 'read rule set' });
  }
  const parsed = storedSchema.safeParse(parseJson(content.toString('utf8')));
  if (!parsed.success || etag === undefined) {
    throw new ScannerError(
      'rules-invalid',
      `The stored rule set blob ${CURRENT_BLOB} is not a valid stored rule set`,
    );
  }
  return { stored: parsed.data, etag };
}

async function uploadCreateOnly(
  container: ContainerClient,
  name: string,
  body: string,
): Promise<void> {
  try {
    await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
      conditions: { ifNoneMatch: '*' },
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
  } catch (error) {
    if (isAlreadyExists(error)) {
      throw conflict(`version blob ${name} already exists: another write came first`);
    }
    throw toBlobScannerError(error, { operation: 'store rule set version' });
  }
}

async function uploadCurrent(
  container: ContainerClient,
  body: string,
  etag: string | undefined,
): Promise<void> {
  try {
    await container.getBlockBlobClient(CURRENT_BLOB).upload(body, Buffer.byteLength(body), {
      conditions: etag === undefined ? { ifNoneMatch: '*' } : { ifMatch: etag },
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
  } catch (error) {
    const status = readBlobFailure(error).statusCode;
    if (status === 409 || status === 412) {
      throw conflict('the rule set changed while this version was written');
    }
    throw toBlobScannerError(error, { operation: 'store rule set' });
  }
}

function conflict(message: string): ScannerError {
  return new ScannerError(
    'blob-conflict',
    `Rule set not stored: ${message}; read it again and retry`,
  );
}

/**
 * Parses JSON text, turning a syntax error into a rule set error.
 * @throws RuleSetError when the text is not JSON.
 */
export function parseRuleSetJson(text: string): unknown {
  const parsed = parseJson(text);
  if (parsed === INVALID_JSON) {
    throw new RuleSetError([{ path: '', message: 'is not valid JSON' }]);
  }
  return parsed;
}

const INVALID_JSON = Symbol('invalid JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return INVALID_JSON;
  }
}
