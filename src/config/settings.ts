import { z } from 'zod';

import type { Action, Category } from '../scanning/types.js';
import { ScannerError } from '../shared/errors.js';

const MIB = 1024 * 1024;

/**
 * A positive whole number written in decimal digits. 0, negatives, text, exponents (`1e3`), hex and
 * surrounding spaces are rejected rather than read as something the operator did not write.
 */
const positiveInt = (fallback: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number written in decimal digits')
    .transform(Number)
    .pipe(z.number().int().positive().max(Number.MAX_SAFE_INTEGER))
    .default(fallback);

const action = (fallback: Action) =>
  z.enum(['none', 'tag', 'junk', 'quarantine', 'delete']).default(fallback);

const optionalPath = z.string().trim().min(1).optional();

/** Comma-separated list, blanks dropped, lower-cased. */
const domainList = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim().toLowerCase())
      .filter((item) => item.length > 0),
  )
  .pipe(z.array(z.string().regex(/^[a-z0-9.-]+$/, 'must be a domain name like contoso.com')));

/**
 * Every environment variable mailsweep reads. Keys and defaults are listed in
 * docs/settings.md and local.settings.example.json.
 */
const settingsSchema = z.strictObject({
  MAILSWEEP_LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),

  MAILSWEEP_MAX_MESSAGE_BYTES: positiveInt(150 * MIB),
  MAILSWEEP_MAX_FILE_BYTES: positiveInt(1024 * MIB),
  MAILSWEEP_MAX_MIME_DEPTH: positiveInt(32),
  MAILSWEEP_MAX_MIME_PARTS: positiveInt(5000),
  MAILSWEEP_MAX_HEADER_BYTES: positiveInt(2 * MIB),
  MAILSWEEP_MAX_DECODED_BYTES: positiveInt(400 * MIB),
  MAILSWEEP_MAX_ARCHIVE_DEPTH: positiveInt(4),
  MAILSWEEP_MAX_ARCHIVE_MEMBERS: positiveInt(1000),
  MAILSWEEP_MAX_COMPRESSION_RATIO: positiveInt(100),
  MAILSWEEP_MAX_HTML_BYTES: positiveInt(8 * MIB),
  MAILSWEEP_SCAN_TIMEOUT_MS: positiveInt(30_000),
  MAILSWEEP_SCAN_WORKERS: positiveInt(2),
  MAILSWEEP_WORKER_MAX_HEAP_MB: positiveInt(1024),

  MAILSWEEP_ACTION_SPAM: action('junk'),
  MAILSWEEP_ACTION_PHISHING: action('quarantine'),
  MAILSWEEP_ACTION_MALWARE: action('quarantine'),
  MAILSWEEP_ACTION_POLICY: action('quarantine'),
  MAILSWEEP_ACTION_UNSCANNABLE: action('quarantine'),

  MAILSWEEP_SPAM_THRESHOLD: z
    .string()
    .regex(/^0?\.[0-9]+$/, 'must be a decimal fraction such as 0.9')
    .transform(Number)
    .pipe(z.number().gt(0).lt(1))
    .optional(),
  MAILSWEEP_SPAM_MODEL_PATH: optionalPath,
  MAILSWEEP_HASH_BLOCKLIST_PATH: optionalPath,
  MAILSWEEP_URL_FEED_PATH: optionalPath,
  MAILSWEEP_ORG_DOMAINS: domainList,

  MAILSWEEP_QUARANTINE_CONNECTION_STRING: z.string().min(1).optional(),
  MAILSWEEP_QUARANTINE_BLOB_URI: z.url({ protocol: /^https?$/ }).optional(),
  MAILSWEEP_QUARANTINE_CONTAINER: z
    .string()
    .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid blob container name')
    .default('quarantine'),
  MAILSWEEP_RETENTION_DAYS: positiveInt(30),

  MAILSWEEP_STATE_CONNECTION_STRING: z.string().min(1).optional(),
  MAILSWEEP_STATE_TABLE_URI: z.url({ protocol: /^https?$/ }).optional(),

  MAILSWEEP_AUTH_MODE: z.enum(['app-service', 'local-token']).default('app-service'),
  MAILSWEEP_LOCAL_ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),

  // The same keys the Functions host reads for the Service Bus trigger's `MAILSWEEP_SERVICEBUS`
  // connection: a connection string, or a namespace for identity-based access.
  MAILSWEEP_SERVICEBUS: z.string().min(1).optional(),
  MAILSWEEP_SERVICEBUS__fullyQualifiedNamespace: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, 'must be a host name such as contoso.servicebus.windows.net')
    .optional(),
  // Read by the Functions host for an identity-based connection; mailsweep's sender uses the
  // client id to pick a user-assigned managed identity.
  MAILSWEEP_SERVICEBUS__credential: z.literal('managedidentity').optional(),
  MAILSWEEP_SERVICEBUS__clientId: z.uuid().optional(),
  MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT: positiveInt(10),

  MAILSWEEP_PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  MAILSWEEP_SUBSCRIPTION_MINUTES: positiveInt(4200).pipe(
    z.number().max(4230, 'must be at most 4230, the limit Graph sets for Outlook messages'),
  ),
  MAILSWEEP_SUBSCRIPTION_RENEW_MINUTES: positiveInt(1440),
  MAILSWEEP_SILENT_MAILBOX_HOURS: positiveInt(24),
}).superRefine((raw, context) => {
  if (raw.MAILSWEEP_AUTH_MODE === 'local-token' && raw.MAILSWEEP_LOCAL_ADMIN_TOKEN === undefined) {
    context.addIssue({
      code: 'custom',
      path: ['MAILSWEEP_LOCAL_ADMIN_TOKEN'],
      message: 'must be set when MAILSWEEP_AUTH_MODE is local-token',
    });
  }
});

type RawSettings = z.infer<typeof settingsSchema>;

/** Limits that bound the work one hostile message can cause. */
export interface ScanLimits {
  /** Largest raw message accepted, in bytes. */
  maxMessageBytes: number;
  /** Deepest MIME nesting, counting multiparts and nested messages together. */
  maxMimeDepth: number;
  /** Most MIME parts in one message, nested messages included. */
  maxMimeParts: number;
  /** Most header bytes in one message, nested messages included. */
  maxHeaderBytes: number;
  /** Most bytes decoded from all parts and archive members together. */
  maxDecodedBytes: number;
  /** Deepest archive inside archive; the outermost archive is depth 1. */
  maxArchiveDepth: number;
  /** Most members read from one message's archives together. */
  maxArchiveMembers: number;
  /** Largest uncompressed-to-compressed ratio for an archive member. */
  maxCompressionRatio: number;
  /** Most bytes of one HTML body that the link and phishing checks parse. */
  maxHtmlBytes: number;
  /** Wall time for the whole pipeline on one message, in milliseconds. */
  scanTimeoutMs: number;
}

/** Validated, typed settings. Frozen after loading. */
export interface Settings {
  logLevel: RawSettings['MAILSWEEP_LOG_LEVEL'];
  limits: ScanLimits;
  actions: Readonly<Record<Category, Action>>;
  /** Largest file the command line reads, in bytes; an mbox file may contain many messages. */
  maxFileBytes: number;
  /** Worker processes that scan messages, and the V8 heap each may use in MiB. */
  workers: { count: number; maxHeapMb: number };
  spam: { threshold?: number; modelPath?: string };
  antivirus: { hashBlocklistPath?: string };
  antiphishing: { urlFeedPath?: string; organizationDomains: readonly string[] };
  quarantine: {
    connectionString?: string;
    blobServiceUri?: string;
    container: string;
    retentionDays: number;
  };
  /**
   * Table storage for mailsweep's own state. Without a connection string of its own, the
   * quarantine's connection string is used (one storage account holds both).
   */
  state: { connectionString?: string; tableServiceUri?: string };
  /** How HTTP callers are authenticated; `local-token` is for local runs only. */
  auth: { mode: 'app-service' | 'local-token'; localAdminToken?: string };
  /** The scan queue: Service Bus when either field is set, the in-process queue otherwise. */
  queue: {
    serviceBusConnectionString?: string;
    serviceBusNamespace?: string;
    /** Client id of a user-assigned managed identity for Service Bus; default: the system one. */
    serviceBusClientId?: string;
    /** Deliveries before the in-process queue dead-letters a job. Service Bus sets its own. */
    maxDeliveryCount: number;
  };
  /** Graph change-notification subscriptions. */
  subscriptions: {
    /** Base URL Graph posts to, e.g. `https://contoso-mailsweep.azurewebsites.net`. */
    publicBaseUrl?: string;
    /** Lifetime requested for a new or renewed subscription, in minutes (Graph allows 4230). */
    lifetimeMinutes: number;
    /** A subscription with less than this left is renewed, in minutes. */
    renewBeforeMinutes: number;
    /** A monitored mailbox without a notification for this long is reported, in hours. */
    silentMailboxHours: number;
  };
}

/**
 * Validates the environment and returns frozen settings.
 * @throws ScannerError `config-invalid` naming every bad key (values are never echoed).
 */
export function loadSettings(env: Record<string, string | undefined>): Settings {
  const result = settingsSchema.safeParse(pickMailsweepKeys(env));
  if (!result.success) {
    const problems = result.error.issues.map((issue) =>
      issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
    );
    throw new ScannerError('config-invalid', `Invalid settings: ${problems.join('; ')}`);
  }
  return deepFreeze(toSettings(result.data));
}

/** Returns the MAILSWEEP_* variables of an environment, as the scan workers receive them. */
export function pickSettingsEnvironment(env: Record<string, string | undefined>): Record<string, string> {
  return pickMailsweepKeys(env);
}

/** Variables with the prefix that are not settings: the scan pool's hand-over to its workers. */
const NOT_SETTINGS = new Set(['MAILSWEEP_WORKER_SETTINGS']);

/**
 * Picks the MAILSWEEP_* variables. Empty strings mean "not set", as in Azure app settings and .env
 * files. Unknown keys with the prefix are kept so that the strict schema rejects a misspelt one.
 */
function pickMailsweepKeys(env: Record<string, string | undefined>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('MAILSWEEP_') && !NOT_SETTINGS.has(key) && value !== undefined && value !== '') {
      picked[key] = value;
    }
  }
  return picked;
}

function toSettings(raw: RawSettings): Settings {
  return {
    logLevel: raw.MAILSWEEP_LOG_LEVEL,
    limits: {
      maxMessageBytes: raw.MAILSWEEP_MAX_MESSAGE_BYTES,
      maxMimeDepth: raw.MAILSWEEP_MAX_MIME_DEPTH,
      maxMimeParts: raw.MAILSWEEP_MAX_MIME_PARTS,
      maxHeaderBytes: raw.MAILSWEEP_MAX_HEADER_BYTES,
      maxDecodedBytes: raw.MAILSWEEP_MAX_DECODED_BYTES,
      maxArchiveDepth: raw.MAILSWEEP_MAX_ARCHIVE_DEPTH,
      maxArchiveMembers: raw.MAILSWEEP_MAX_ARCHIVE_MEMBERS,
      maxCompressionRatio: raw.MAILSWEEP_MAX_COMPRESSION_RATIO,
      maxHtmlBytes: raw.MAILSWEEP_MAX_HTML_BYTES,
      scanTimeoutMs: raw.MAILSWEEP_SCAN_TIMEOUT_MS,
    },
    actions: {
      clean: 'none',
      spam: raw.MAILSWEEP_ACTION_SPAM,
      phishing: raw.MAILSWEEP_ACTION_PHISHING,
      malware: raw.MAILSWEEP_ACTION_MALWARE,
      policy: raw.MAILSWEEP_ACTION_POLICY,
      unscannable: raw.MAILSWEEP_ACTION_UNSCANNABLE,
    },
    maxFileBytes: raw.MAILSWEEP_MAX_FILE_BYTES,
    workers: { count: raw.MAILSWEEP_SCAN_WORKERS, maxHeapMb: raw.MAILSWEEP_WORKER_MAX_HEAP_MB },
    spam: { threshold: raw.MAILSWEEP_SPAM_THRESHOLD, modelPath: raw.MAILSWEEP_SPAM_MODEL_PATH },
    antivirus: { hashBlocklistPath: raw.MAILSWEEP_HASH_BLOCKLIST_PATH },
    antiphishing: {
      urlFeedPath: raw.MAILSWEEP_URL_FEED_PATH,
      organizationDomains: raw.MAILSWEEP_ORG_DOMAINS,
    },
    quarantine: {
      connectionString: raw.MAILSWEEP_QUARANTINE_CONNECTION_STRING,
      blobServiceUri: raw.MAILSWEEP_QUARANTINE_BLOB_URI,
      container: raw.MAILSWEEP_QUARANTINE_CONTAINER,
      retentionDays: raw.MAILSWEEP_RETENTION_DAYS,
    },
    state: {
      connectionString:
        raw.MAILSWEEP_STATE_CONNECTION_STRING ?? raw.MAILSWEEP_QUARANTINE_CONNECTION_STRING,
      tableServiceUri: raw.MAILSWEEP_STATE_TABLE_URI,
    },
    auth: { mode: raw.MAILSWEEP_AUTH_MODE, localAdminToken: raw.MAILSWEEP_LOCAL_ADMIN_TOKEN },
    queue: {
      serviceBusConnectionString: raw.MAILSWEEP_SERVICEBUS,
      serviceBusNamespace: raw.MAILSWEEP_SERVICEBUS__fullyQualifiedNamespace,
      serviceBusClientId: raw.MAILSWEEP_SERVICEBUS__clientId,
      maxDeliveryCount: raw.MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT,
    },
    subscriptions: {
      publicBaseUrl: raw.MAILSWEEP_PUBLIC_BASE_URL,
      lifetimeMinutes: raw.MAILSWEEP_SUBSCRIPTION_MINUTES,
      renewBeforeMinutes: raw.MAILSWEEP_SUBSCRIPTION_RENEW_MINUTES,
      silentMailboxHours: raw.MAILSWEEP_SILENT_MAILBOX_HOURS,
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) {
      deepFreeze(child);
    }
    Object.freeze(value);
  }
  return value;
}
