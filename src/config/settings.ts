import { X509Certificate } from 'node:crypto';

import { Cron } from 'croner';
import { z } from 'zod';

import type { Action, Category } from '../scanning/types.js';
import { scanRequestSchema } from '../scans/scan-request.js';
import { ScannerError } from '../shared/errors.js';

const MIB = 1024 * 1024;

/** Maximum number of scan worker processes that one command may start. */
export const MAX_SCAN_WORKERS = 64;

/** Minimum V8 heap of a scan worker, in MiB. */
const MIN_WORKER_HEAP_MB = 128;

/**
 * Maximum V8 heap of a scan worker, in MiB (64 GiB). Each of up to MAX_SCAN_WORKERS workers may
 * grow to it, so a larger value is a typo rather than memory a host can give.
 */
const MAX_WORKER_HEAP_MB = 65_536;

/**
 * A positive whole number written in decimal digits. 0, negatives, text, exponents (`1e3`), hex and
 * surrounding spaces are rejected rather than read as something the operator did not write.
 */
const positiveInt = (
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
  maxMessage = `must be at most ${max}`,
) =>
  z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number written in decimal digits')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(max, maxMessage))
    .default(fallback);

/**
 * A positive whole number of at most `max`, for timeouts, delays and counts. An unbounded value
 * would overflow the timer it sets: Node fires a `setTimeout` longer than 2^31 - 1 ms at once.
 */
const boundedInt = (fallback: number, max: number, unit: string) =>
  positiveInt(fallback, max, `must be at most ${max} ${unit}`);

/** Maximum of a duration setting in minutes or hours: one year. */
const YEAR_MINUTES = 525_600;
const YEAR_HOURS = 8_760;

/**
 * An NCRONTAB expression with six fields, seconds first, as Azure Functions timers take. croner
 * checks each field, so an out-of-range value such as second 61 stops start-up here rather than
 * when the timer is created.
 */
const ncrontab = (fallback: string) =>
  z
    .string()
    .trim()
    .regex(/^\S+( \S+){5}$/, 'must be an NCRONTAB expression with six fields, seconds first')
    .superRefine((pattern, context) => {
      const problem = checkCronPattern(pattern);
      if (problem !== undefined) {
        context.addIssue({ code: 'custom', message: problem });
      }
    })
    .default(fallback);

/** Returns why croner rejects a schedule, or undefined when it accepts it. */
function checkCronPattern(pattern: string): string | undefined {
  try {
    // Without a function to run, croner parses the pattern and schedules nothing.
    new Cron(pattern);
    return undefined;
  } catch (error: unknown) {
    const detail = error instanceof Error ? error.message.replace(/^CronPattern: /, '') : 'invalid';
    return `is not a valid NCRONTAB expression (${detail})`;
  }
}

/** An https URL. Its error message states the requirement, where zod's reads "Invalid URL". */
const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https URL' });

/** An http or https URL. */
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' });

const action = (fallback: Action) =>
  z.enum(['none', 'tag', 'junk', 'quarantine', 'delete']).default(fallback);

const optionalPath = z.string().trim().min(1).optional();

/** Splits a comma-separated value into lower-cased items, blanks dropped. */
function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item.length > 0);
}

/** Comma-separated list, blanks dropped, lower-cased, each item checked by `item`. */
const commaList = <Item extends z.ZodType<unknown, string>>(item: Item) =>
  z.string().default('').transform(splitList).pipe(z.array(item));

/** Comma-separated list of domains. */
const domainList = commaList(
  z.string().regex(/^[a-z0-9.-]+$/, 'must be a domain name like contoso.com'),
);

/** Comma-separated list of engine names from `names`, without repeats; blank means `fallback`. */
const engineList = <const Name extends string>(names: readonly [Name, ...Name[]], fallback: Name) =>
  z
    .string()
    .default(fallback)
    .transform(splitList)
    .pipe(
      z
        .array(z.enum(names))
        .min(1, `must name at least one of ${names.join(', ')}`)
        .refine((items) => new Set(items).size === items.length, 'must not repeat an engine'),
    );

/** A TCP port number, 1 to 65535. */
const port = (fallback: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, 'must be a port number written in decimal digits')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(65_535, 'must be at most 65535'))
    .default(fallback);

/** A host name or IP address, without a port or scheme. */
const hostName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9.:-]{1,253}$/, 'must be a host name or IP address without a port or scheme')
  .optional();

/**
 * Every environment variable mailsweep reads. Keys and defaults are listed in
 * docs/settings.md and local.settings.example.json. Exported so that tests can compare its keys
 * with the example file and the deployment templates.
 */
export const settingsSchema = z.strictObject({
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
  MAILSWEEP_SCAN_TIMEOUT_MS: boundedInt(30_000, 3_600_000, 'ms (one hour)'),
  MAILSWEEP_SCAN_WORKERS: boundedInt(2, MAX_SCAN_WORKERS, 'worker processes'),
  // A worker needs about 44 MiB of heap to load the shipped spam model and exits during start-up
  // with less (measured with Node 20.20 on Linux x64). 128 leaves room to scan a small message.
  MAILSWEEP_WORKER_MAX_HEAP_MB: z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number written in decimal digits')
    .transform(Number)
    .pipe(
      z
        .number()
        .min(MIN_WORKER_HEAP_MB, `must be at least ${MIN_WORKER_HEAP_MB} MiB, so that a worker can start`)
        .max(MAX_WORKER_HEAP_MB, `must be at most ${MAX_WORKER_HEAP_MB} MiB (64 GiB)`),
    )
    .default(1024),

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

  MAILSWEEP_ENGINES_ANTIVIRUS: engineList(['embedded', 'clamd'], 'embedded'),
  MAILSWEEP_ENGINES_ANTISPAM: engineList(['embedded', 'rspamd'], 'embedded'),
  MAILSWEEP_ENGINE_FAILURE: z.enum(['retry', 'unscannable']).default('retry'),

  MAILSWEEP_CLAMD_HOST: hostName,
  MAILSWEEP_CLAMD_PORT: port(3310),
  MAILSWEEP_CLAMD_SCAN: z.enum(['parts', 'message']).default('parts'),
  MAILSWEEP_CLAMD_MAX_CONNECTIONS: positiveInt(4),
  MAILSWEEP_CLAMD_CONNECT_TIMEOUT_MS: boundedInt(2_000, 600_000, 'ms (ten minutes)'),
  MAILSWEEP_CLAMD_READ_TIMEOUT_MS: boundedInt(10_000, 600_000, 'ms (ten minutes)'),
  MAILSWEEP_CLAMD_STREAM_MAX_BYTES: positiveInt(25 * MIB),

  MAILSWEEP_RSPAMD_URL: httpUrl.optional(),
  MAILSWEEP_RSPAMD_TIMEOUT_MS: boundedInt(10_000, 600_000, 'ms (ten minutes)'),
  MAILSWEEP_RSPAMD_MAX_MESSAGE_BYTES: positiveInt(50 * MIB),

  MAILSWEEP_QUARANTINE_CONNECTION_STRING: z.string().min(1).optional(),
  MAILSWEEP_QUARANTINE_BLOB_URI: httpUrl.optional(),
  MAILSWEEP_QUARANTINE_CONTAINER: z
    .string()
    .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid blob container name')
    .default('quarantine'),
  MAILSWEEP_RETENTION_DAYS: positiveInt(30),
  MAILSWEEP_RETENTION_DAYS_MALWARE: positiveInt(30),
  MAILSWEEP_RETENTION_DAYS_PHISHING: positiveInt(30),
  MAILSWEEP_RETENTION_DAYS_SPAM: positiveInt(15),
  MAILSWEEP_QUARANTINE_MAX_BULK_ITEMS: positiveInt(100),

  MAILSWEEP_STATE_CONNECTION_STRING: z.string().min(1).optional(),
  MAILSWEEP_STATE_TABLE_URI: httpUrl.optional(),

  MAILSWEEP_QUARANTINE_FOLDER_NAME: z.string().trim().min(1).max(255).default('mailsweep quarantine'),
  MAILSWEEP_QUARANTINE_REMOVAL: z.enum(['hidden-folder', 'delete']).default('hidden-folder'),
  MAILSWEEP_DELETE_MODE: z.enum(['deleted-items', 'soft', 'hard']).default('soft'),
  MAILSWEEP_TAG_CATEGORY: z.string().trim().min(1).max(200).default('mailsweep'),
  MAILSWEEP_TAG_FLAG: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
  MAILSWEEP_CATCH_UP_FOLDERS: commaList(z.enum(['junkemail', 'deleteditems', 'sentitems'])),
  MAILSWEEP_CATCH_UP_FULL_SYNC_HOURS: boundedInt(168, YEAR_HOURS, 'hours (one year)'),
  MAILSWEEP_SCAN_JOB_BUDGET_SECONDS: boundedInt(480, 3_600, 'seconds (one hour)'),
  MAILSWEEP_SCAN_PAGE_SIZE: positiveInt(50).pipe(z.number().max(99)),
  MAILSWEEP_SCAN_MESSAGE_CONCURRENCY: positiveInt(4).pipe(z.number().max(32)),
  MAILSWEEP_SCAN_MAX_WINDOW_DAYS: positiveInt(3650),
  MAILSWEEP_SCHEDULED_SCAN_CRON: ncrontab('0 0 2 * * *'),
  MAILSWEEP_SCHEDULED_SCAN: z.string().trim().max(100_000).optional(),
  MAILSWEEP_GRAPH_TENANT_ID: z.string().trim().min(1).max(200).optional(),
  MAILSWEEP_GRAPH_CLIENT_ID: z.string().trim().min(1).max(200).optional(),
  MAILSWEEP_GRAPH_CLIENT_SECRET: z.string().min(1).optional(),
  MAILSWEEP_GRAPH_CERTIFICATE_PATH: optionalPath,
  MAILSWEEP_GRAPH_MANAGED_IDENTITY_CLIENT_ID: z.string().trim().min(1).max(200).optional(),
  MAILSWEEP_GRAPH_BASE_URL: httpsUrl.default('https://graph.microsoft.com/v1.0'),
  MAILSWEEP_GRAPH_AUTHORITY_HOST: httpsUrl.optional(),
  MAILSWEEP_GRAPH_MAX_TRIES: positiveInt(6),
  MAILSWEEP_EWS_URL: httpsUrl.optional(),
  MAILSWEEP_EWS_AUTH: z.enum(['basic', 'ntlm', 'oauth']).default('ntlm'),
  MAILSWEEP_EWS_USERNAME: z.string().trim().min(1).max(256).optional(),
  MAILSWEEP_EWS_PASSWORD: z.string().min(1).optional(),
  MAILSWEEP_EWS_DOMAIN: z.string().trim().min(1).max(256).optional(),
  MAILSWEEP_EWS_OAUTH_SCOPE: z.string().trim().min(1).max(500).optional(),
  MAILSWEEP_EWS_CA_CERTIFICATES: z
    .string()
    .max(64 * 1024, 'must be at most 64 KiB of PEM')
    .refine(isCertificateList, 'must be one or more PEM certificates (-----BEGIN CERTIFICATE-----)')
    .optional(),
  MAILSWEEP_EWS_MAX_CONCURRENCY: positiveInt(10),
  MAILSWEEP_EWS_MAX_TRIES: positiveInt(6),
  MAILSWEEP_EWS_PUSH_STATUS_FREQUENCY_MINUTES: positiveInt(5).pipe(
    z.number().max(1440, 'must be at most 1440, the largest StatusFrequency EWS accepts'),
  ),
  MAILSWEEP_ONPREM_MAILBOXES: commaList(z.email({ message: 'must be a mail address like adele@contoso.com' })),
  MAILSWEEP_ONPREM_DOMAINS: domainList,
  MAILSWEEP_ONPREM_CACHE_MINUTES: boundedInt(1440, YEAR_MINUTES, 'minutes (one year)'),
  MAILSWEEP_AUTH_MODE: z.enum(['app-service', 'local-token']).default('app-service'),
  MAILSWEEP_LOCAL_ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  MAILSWEEP_LOCAL_USER_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  MAILSWEEP_LOCAL_USER_ADDRESS: z
    .string()
    .max(320)
    .regex(/^[^\s@<>()\u0000-\u001f\u007f]{1,64}@[A-Za-z0-9.-]{1,255}$/, 'must be an email address')
    .transform((value) => value.toLowerCase())
    .optional(),
  MAILSWEEP_LOCAL_USER_ALIASES: commaList(
    z.email({ message: 'must be a mail address like adele@contoso.com' }),
  ),
  MAILSWEEP_USER_ADDRESS_CACHE_MINUTES: positiveInt(15).pipe(
    z.number().max(1440, 'must be at most 1440 (one day), so that a removed alias stops counting'),
  ),

  MAILSWEEP_UI_BASE_URL: httpUrl.optional(),
  MAILSWEEP_DIGEST_CRON: ncrontab('0 */15 * * * *'),
  MAILSWEEP_DIGEST_SENDER: z.email({ message: 'must be a mail address like mailsweep@contoso.com' }).optional(),
  MAILSWEEP_DIGEST_FOLDER: z.string().trim().min(1).default('.mailsweep/digests'),
  MAILSWEEP_DIGEST_ADMINS: commaList(z.email({ message: 'must be a mail address like adele@contoso.com' })),
  MAILSWEEP_DIGEST_INTERVAL_HOURS: boundedInt(24, YEAR_HOURS, 'hours (one year)'),
  MAILSWEEP_DIGEST_MESSAGES_PER_MINUTE: positiveInt(30),
  MAILSWEEP_DIGEST_RECIPIENTS_PER_DAY: positiveInt(10_000),
  MAILSWEEP_DIGEST_MAX_RUN_SECONDS: boundedInt(540, 3_600, 'seconds (one hour)'),

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
  MAILSWEEP_QUEUE_RETRY_DELAY_MS: boundedInt(30_000, 86_400_000, 'ms (one day)'),
  MAILSWEEP_QUEUE_MAX_RETRY_DELAY_MS: boundedInt(15 * 60_000, 86_400_000, 'ms (one day)'),

  MAILSWEEP_PUBLIC_BASE_URL: httpUrl.optional(),
  MAILSWEEP_SUBSCRIPTION_MINUTES: positiveInt(4200).pipe(
    z.number().max(4230, 'must be at most 4230, the limit Graph sets for Outlook messages'),
  ),
  MAILSWEEP_SUBSCRIPTION_RENEW_MINUTES: boundedInt(1440, 4230, 'minutes, the longest lifetime Graph grants'),
  MAILSWEEP_SILENT_MAILBOX_HOURS: boundedInt(24, YEAR_HOURS, 'hours (one year)'),

  MAILSWEEP_RULES_PATH: optionalPath,
  MAILSWEEP_RULES_CONTAINER: z
    .string()
    .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid blob container name')
    .default('rules'),
  MAILSWEEP_RULES_MAX_COUNT: positiveInt(2000),
  MAILSWEEP_RULES_REFRESH_SECONDS: boundedInt(60, 86_400, 'seconds (one day)'),
  MAILSWEEP_RULES_GROUP_CACHE_MINUTES: boundedInt(60, YEAR_MINUTES, 'minutes (one year)'),
  MAILSWEEP_NOTIFY_SENDER: z.email({ message: 'must be a mail address like alerts@contoso.com' }).optional(),
  MAILSWEEP_NOTIFY_ADMINS: commaList(z.email({ message: 'must be a mail address like admin@contoso.com' })),
  MAILSWEEP_NOTIFY_OUTBOX_PATH: optionalPath,
  MAILSWEEP_NOTIFY_MAX_PER_HOUR: positiveInt(100),
}).superRefine((raw, context) => {
  if (raw.MAILSWEEP_SCHEDULED_SCAN !== undefined && raw.MAILSWEEP_SCHEDULED_SCAN !== '') {
    const issue = checkScheduledScan(raw.MAILSWEEP_SCHEDULED_SCAN);
    if (issue !== undefined) {
      context.addIssue({ code: 'custom', path: ['MAILSWEEP_SCHEDULED_SCAN'], message: issue });
    }
  }
  // App Service passes a Key Vault reference it cannot resolve (secret missing, no access, vault
  // unreachable) to the app as its literal text. Sent as the EWS password, that text could lock
  // the service account out, so a start-up error names the key instead. A field that failed its
  // own check still contains its input here, so every key is covered.
  for (const [key, value] of Object.entries(raw)) {
    if (isKeyVaultReference(value)) {
      context.addIssue({
        code: 'custom',
        path: [key],
        message:
          'Key Vault reference not resolved; check that the secret exists and that the app\'s ' +
          'identity may read it (Key Vault Secrets User), then restart the app',
      });
    }
  }
  // A daemon engine without an address would fail every scan, so it is a start-up error instead.
  if (raw.MAILSWEEP_ENGINES_ANTIVIRUS.includes('clamd') && !raw.MAILSWEEP_CLAMD_HOST) {
    context.addIssue({
      code: 'custom',
      path: ['MAILSWEEP_CLAMD_HOST'],
      message: 'is required when MAILSWEEP_ENGINES_ANTIVIRUS includes clamd',
    });
  }
  if (raw.MAILSWEEP_ENGINES_ANTISPAM.includes('rspamd') && !raw.MAILSWEEP_RSPAMD_URL) {
    context.addIssue({
      code: 'custom',
      path: ['MAILSWEEP_RSPAMD_URL'],
      message: 'is required when MAILSWEEP_ENGINES_ANTISPAM includes rspamd',
    });
  }
  if (raw.MAILSWEEP_EWS_URL !== undefined && raw.MAILSWEEP_EWS_AUTH !== 'oauth') {
    for (const key of ['MAILSWEEP_EWS_USERNAME', 'MAILSWEEP_EWS_PASSWORD'] as const) {
      if (raw[key] === undefined) {
        context.addIssue({
          code: 'custom',
          path: [key],
          message: 'is required when MAILSWEEP_EWS_URL is set and MAILSWEEP_EWS_AUTH is basic or ntlm',
        });
      }
    }
  }
  if (raw.MAILSWEEP_AUTH_MODE === 'local-token' && raw.MAILSWEEP_LOCAL_ADMIN_TOKEN === undefined) {
    context.addIssue({
      code: 'custom',
      path: ['MAILSWEEP_LOCAL_ADMIN_TOKEN'],
      message: 'must be set when MAILSWEEP_AUTH_MODE is local-token',
    });
  }
  const userToken = raw.MAILSWEEP_LOCAL_USER_TOKEN;
  if ((userToken === undefined) !== (raw.MAILSWEEP_LOCAL_USER_ADDRESS === undefined)) {
    context.addIssue({
      code: 'custom',
      path: ['MAILSWEEP_LOCAL_USER_ADDRESS'],
      message: 'must be set together with MAILSWEEP_LOCAL_USER_TOKEN',
    });
  }
  if (raw.MAILSWEEP_LOCAL_USER_ALIASES.length > 0 && raw.MAILSWEEP_LOCAL_USER_ADDRESS === undefined) {
    context.addIssue({
      code: 'custom',
      path: ['MAILSWEEP_LOCAL_USER_ALIASES'],
      message: 'must be set only together with MAILSWEEP_LOCAL_USER_ADDRESS',
    });
  }
  if (userToken !== undefined && userToken === raw.MAILSWEEP_LOCAL_ADMIN_TOKEN) {
    context.addIssue({
      code: 'custom',
      path: ['MAILSWEEP_LOCAL_USER_TOKEN'],
      message: 'must differ from MAILSWEEP_LOCAL_ADMIN_TOKEN',
    });
  }
  // Zod skips a refinement after an aborting issue, such as an invalid enum value. This one runs
  // anyway, so that a reference in an enum setting is reported as a reference.
}, { when: (payload) => typeof payload.value === 'object' && payload.value !== null });

/** A PEM certificate block. Base64 has no `-`, so `[^-]+` spans the body and its line breaks. */
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** True when the text contains at least one PEM certificate and every one of them parses. */
function isCertificateList(pem: string): boolean {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    return false;
  }
  try {
    for (const block of blocks) {
      new X509Certificate(block);
    }
    return true;
  } catch {
    return false;
  }
}

/** The start of an App Service Key Vault reference, `@Microsoft.KeyVault(...)`. */
const KEY_VAULT_REFERENCE = /^\s*@microsoft\.keyvault\(/i;

/** True for a reference's text, also as the item of a comma-separated list that split it. */
function isKeyVaultReference(value: unknown): boolean {
  if (typeof value === 'string') {
    return KEY_VAULT_REFERENCE.test(value);
  }
  return Array.isArray(value) && value.some((item) => isKeyVaultReference(item));
}

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

/**
 * Outcome of a daemon engine that is down, times out or returns an invalid response. `retry`
 * marks its `unscannable` finding transient, so the queue consumer returns the job. `unscannable`
 * lets the verdict's action apply at once. Neither makes a message clean.
 */
export type EngineFailurePolicy = 'retry' | 'unscannable';

/** Engine choice per stage. Each list is non-empty and runs in the order given. */
export interface EngineSettings {
  antivirus: readonly ('embedded' | 'clamd')[];
  antispam: readonly ('embedded' | 'rspamd')[];
  failure: EngineFailurePolicy;
}

/** Address, limits and timeouts of the clamd daemon. */
export interface ClamdSettings {
  /** Host name or IP address; required when clamd is an engine. */
  host?: string;
  /** TCP port; default 3310. */
  port: number;
  /** `parts` sends every extracted part on its own (default), `message` the raw message. */
  scan: 'parts' | 'message';
  /** Most connections open at once from this process; default 4. */
  maxConnections: number;
  /** Time to establish a connection, in milliseconds; default 2000. */
  connectTimeoutMs: number;
  /** Longest silence on an open connection, in milliseconds; default 10000. */
  readTimeoutMs: number;
  /** The daemon's StreamMaxLength, in bytes; larger objects are not sent. Default 25 MiB. */
  streamMaxBytes: number;
}

/** Address, limits and timeout of the rspamd daemon. */
export interface RspamdSettings {
  /** Base URL of a normal worker, e.g. `http://rspamd:11333`; required when rspamd is an engine. */
  url?: string;
  /** Time for one /checkv2 request, response included, in milliseconds; default 10000. */
  timeoutMs: number;
  /** Largest message sent, in bytes (rspamd's own `max_message`); default 50 MiB. */
  maxMessageBytes: number;
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
    /** Days an item is kept when its category has no days of its own. */
    retentionDays: number;
    /** Days kept per category; categories not named use `retentionDays`. */
    retentionDaysByCategory?: Partial<Record<'malware' | 'phishing' | 'spam', number>>;
    /** Most items one bulk release or delete request may name or match; default 100. */
    maxBulkItems?: number;
  };
  /** Engines of the antivirus and antispam stages, and the policy for an engine failure. */
  engines: EngineSettings;
  /** The clamd daemon, used when `engines.antivirus` includes `clamd`. */
  clamd: ClamdSettings;
  /** The rspamd daemon, used when `engines.antispam` includes `rspamd`. */
  rspamd: RspamdSettings;
  /**
   * Table storage for mailsweep's own state. Without a connection string of its own, the
   * quarantine's connection string is used (one storage account contains both).
   */
  state: { connectionString?: string; tableServiceUri?: string };
  /** Mailbox actions of the scan-on-arrival and catch-up consumers. */
  arrival: ArrivalSettings;
  /** Microsoft Graph access; unset ids mean Graph is not configured. */
  graph: GraphSettings;
  /** Exchange Server over EWS, for on-premises mailboxes; no URL means EWS is not configured. */
  ews: EwsSettings;
  /** Mailboxes that go to EWS instead of Graph. */
  hybrid: HybridSettings;
  /** Authentication of HTTP callers. `local-token` is for local runs only. */
  auth: {
    mode: 'app-service' | 'local-token';
    localAdminToken?: string;
    /** In `local-token` mode, a second bearer token that signs in as a user without a role. */
    localUser?: { token: string; mailbox: string; aliases: string[] };
    /** Minutes a user's addresses read from the directory are reused. */
    userAddressCacheMinutes: number;
  };
  /** The scan queue: Service Bus when either field is set, the in-process queue otherwise. */
  queue: {
    serviceBusConnectionString?: string;
    serviceBusNamespace?: string;
    /** Client id of a user-assigned managed identity for Service Bus; default: the system one. */
    serviceBusClientId?: string;
    /** Deliveries before the in-process queue dead-letters a job. Service Bus sets its own. */
    maxDeliveryCount: number;
    /** Delay before the second try of a job that failed for a passing reason; it doubles per try. */
    retryDelayMs: number;
    /** Maximum delay between tries. */
    maxRetryDelayMs: number;
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
  /** Admin rules: a local file, or the rule store in Blob storage. */
  rules: RulesSettings;
  /** Quarantine digests and the web interface they link to. */
  digests: DigestSettings;
  /** On-demand and scheduled mailbox scans. */
  scans: ScanSettings;
}

/** Quarantine digests: schedule, sender, sending limits and the web interface's address. */
export interface DigestSettings {
  /** Base URL of the web interface in links, e.g. `https://contoso.azurewebsites.net`; unset means no digests. */
  uiBaseUrl?: string;
  /** NCRONTAB schedule of the digest timer (six fields, UTC); default every 15 minutes. */
  cron: string;
  /** Minimum time between two digests to one recipient, in hours; default 24. */
  intervalHours: number;
  /** Mailbox that sends digests through Graph; unset means .eml files in `folder`. */
  sender?: string;
  /** Folder for .eml digests when no sender is set; default `.mailsweep/digests`. */
  folder: string;
  /** Lower-cased addresses that get the summary across mailboxes. */
  adminRecipients: readonly string[];
  /** Messages the sender sends in any 60 seconds; default 30 (Exchange Online's limit). */
  messagesPerMinute: number;
  /** Recipients the sender sends to in any 24 hours; default 10,000 (Exchange Online's limit). */
  recipientsPerDay: number;
  /** Time one digest run may take before it stops, in seconds; default 540. */
  maxRunSeconds: number;
}

/** Settings of mailbox scans (`/api/scans`, the scheduled scan and `mailsweep scan --mailbox`). */
export interface ScanSettings {
  /** A scan-mailbox job checkpoints and sends itself again after this long, in ms; default 480 s. */
  jobBudgetMs: number;
  /** Messages per page between checkpoints; default 50, at most 99. */
  pageSize: number;
  /** Messages of one mailbox scanned at once; default 4 (Outlook's concurrent requests per mailbox). */
  messageConcurrency: number;
  /** Maximum window a scan may cover, in days; default 3650. */
  maxWindowDays: number;
  /** NCRONTAB schedule of the scheduled scan; default `0 0 2 * * *` (02:00 UTC daily). */
  scheduledCron: string;
  /** The scheduled scan's request, as JSON in the format of `POST /api/scans`; unset means none. */
  scheduledRequest?: unknown;
}

/** Source and size limit of the admin rule set. */
export interface RulesSettings {
  /** JSON rule set file; when set, it is used instead of the rule store. Default: unset. */
  path?: string;
  /** Blob container of the rule store, in the quarantine's storage account; default `rules`. */
  container: string;
  /** Maximum rules in one set; a larger set is rejected. Default 2000. */
  maxRules: number;
  /** Interval between a running scanner's reads of the rule store, in seconds; default 60. */
  refreshSeconds: number;
  /** How long the members of a group named in a rule scope are cached, in minutes; default 60. */
  groupCacheMinutes: number;
  /** Mail notifications that rules ask for. */
  notify: NotifySettings;
}

/** Destination of rule notifications. Without a sender and an outbox folder, they are logged only. */
export interface NotifySettings {
  /** Mailbox that sends notifications through Graph sendMail. Default: unset. */
  sender?: string;
  /** Addresses a notification `to: admin` goes to. Default: none. */
  admins: readonly string[];
  /** Folder that receives each notification as a .eml file when no sender is set. Default: unset. */
  outboxPath?: string;
  /** Notifications sent per hour by one process; more are dropped and counted. Default 100. */
  maxPerHour: number;
}

/** Settings of the scan-on-arrival and catch-up queue consumers. */
export interface ArrivalSettings {
  /** Display name of the hidden folder for quarantined messages in each mailbox. */
  quarantineFolderName: string;
  /** After the verified copy is stored: move the message to the hidden folder, or delete it. */
  quarantineRemoval: 'hidden-folder' | 'delete';
  /** Delete mode for the `delete` action, and for quarantine with removal `delete`. */
  deleteMode: 'deleted-items' | 'soft' | 'hard';
  /** Prefix of the Outlook category the `tag` action sets, as `<prefix>: <category>`. */
  tagCategory: string;
  /** The `tag` action also flags the message for follow-up. */
  tagFlag: boolean;
  /** Well-known folders the catch-up syncs besides the Inbox. */
  catchUpFolders: readonly ('junkemail' | 'deleteditems' | 'sentitems')[];
  /** On a sync without a stored state, only messages received within this many hours are queued. */
  fullSyncHours: number;
}

/**
 * The Entra app mailsweep signs in as, and where Graph is. With a client secret or a certificate
 * the app authenticates with it; with neither, a managed identity's token is the app's federated
 * credential.
 */
export interface GraphSettings {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** PEM file holding the certificate and its private key. */
  certificatePath?: string;
  /** Client id of a user-assigned managed identity; unset means the system-assigned one. */
  managedIdentityClientId?: string;
  /** Graph endpoint with its version, default `https://graph.microsoft.com/v1.0`. */
  baseUrl: string;
  /** Entra authority host; unset means the public cloud's. */
  authorityHost?: string;
  /** Tries per Graph request before a throttled or failed request is given up. */
  maxTries: number;
}

/** The on-premises Exchange server and how mailsweep signs in to it. */
export interface EwsSettings {
  /** EWS endpoint, e.g. `https://mail.contoso.com/EWS/Exchange.asmx`. */
  url?: string;
  /** `ntlm` (default), `basic`, or `oauth` with the Graph app's credential. */
  auth: 'basic' | 'ntlm' | 'oauth';
  /** Service account with the ApplicationImpersonation role; for basic and ntlm. */
  username?: string;
  password?: string;
  /** NTLM domain of the service account. */
  domain?: string;
  /** OAuth token scope; default `<EWS origin>/.default`. */
  oauthScope?: string;
  /**
   * PEM of the CA certificates that the EWS server's certificate must chain to, for an internal
   * PKI. They replace Node's public CAs for EWS requests only; unset means the public CAs.
   */
  caCertificates?: string;
  /** EWS requests in flight at once to the server; default 10. */
  maxConcurrency: number;
  /** Tries per EWS request, the first included; default 6. */
  maxTries: number;
  /**
   * StatusFrequency of push subscriptions, in minutes (1 to 1440); default 5. Exchange sends a
   * keep-alive this often when no mail arrives, and retries a failed delivery for this long.
   */
  pushStatusFrequencyMinutes: number;
}

/** Routing of mailboxes between Graph and EWS. */
export interface HybridSettings {
  /** Lower-cased addresses of mailboxes hosted on premises. */
  onPremMailboxes: readonly string[];
  /** Lower-cased domains whose mailboxes are all hosted on premises. */
  onPremDomains: readonly string[];
  /** How long a mailbox that Graph reported as on premises stays routed to EWS, in minutes. */
  cacheMinutes: number;
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

/**
 * Returns the documented default of a setting as text, such as the digest timer's schedule for
 * MAILSWEEP_DIGEST_CRON; undefined for a key that is not a setting or has no text default.
 */
export function settingDefault(key: string): string | undefined {
  if (!Object.hasOwn(settingsSchema.shape, key)) {
    return undefined;
  }
  const field = settingsSchema.shape[key as keyof typeof settingsSchema.shape];
  const parsed = field.safeParse(undefined);
  return parsed.success && typeof parsed.data === 'string' ? parsed.data : undefined;
}

/** Returns the MAILSWEEP_* variables of an environment, as the scan workers receive them. */
export function pickSettingsEnvironment(env: Record<string, string | undefined>): Record<string, string> {
  return pickMailsweepKeys(env);
}

/** Variables with the prefix that are not settings: the scan pool's hand-over to its workers. */
const NOT_SETTINGS = new Set(['MAILSWEEP_WORKER_SETTINGS', 'MAILSWEEP_WORKER_RULES']);

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
      retentionDaysByCategory: {
        malware: raw.MAILSWEEP_RETENTION_DAYS_MALWARE,
        phishing: raw.MAILSWEEP_RETENTION_DAYS_PHISHING,
        spam: raw.MAILSWEEP_RETENTION_DAYS_SPAM,
      },
      maxBulkItems: raw.MAILSWEEP_QUARANTINE_MAX_BULK_ITEMS,
    },
    engines: {
      antivirus: raw.MAILSWEEP_ENGINES_ANTIVIRUS,
      antispam: raw.MAILSWEEP_ENGINES_ANTISPAM,
      failure: raw.MAILSWEEP_ENGINE_FAILURE,
    },
    clamd: {
      host: raw.MAILSWEEP_CLAMD_HOST,
      port: raw.MAILSWEEP_CLAMD_PORT,
      scan: raw.MAILSWEEP_CLAMD_SCAN,
      maxConnections: raw.MAILSWEEP_CLAMD_MAX_CONNECTIONS,
      connectTimeoutMs: raw.MAILSWEEP_CLAMD_CONNECT_TIMEOUT_MS,
      readTimeoutMs: raw.MAILSWEEP_CLAMD_READ_TIMEOUT_MS,
      streamMaxBytes: raw.MAILSWEEP_CLAMD_STREAM_MAX_BYTES,
    },
    rspamd: {
      url: raw.MAILSWEEP_RSPAMD_URL,
      timeoutMs: raw.MAILSWEEP_RSPAMD_TIMEOUT_MS,
      maxMessageBytes: raw.MAILSWEEP_RSPAMD_MAX_MESSAGE_BYTES,
    },
    state: {
      connectionString:
        raw.MAILSWEEP_STATE_CONNECTION_STRING ?? raw.MAILSWEEP_QUARANTINE_CONNECTION_STRING,
      tableServiceUri: raw.MAILSWEEP_STATE_TABLE_URI,
    },
    arrival: {
      quarantineFolderName: raw.MAILSWEEP_QUARANTINE_FOLDER_NAME,
      quarantineRemoval: raw.MAILSWEEP_QUARANTINE_REMOVAL,
      deleteMode: raw.MAILSWEEP_DELETE_MODE,
      tagCategory: raw.MAILSWEEP_TAG_CATEGORY,
      tagFlag: raw.MAILSWEEP_TAG_FLAG,
      catchUpFolders: raw.MAILSWEEP_CATCH_UP_FOLDERS,
      fullSyncHours: raw.MAILSWEEP_CATCH_UP_FULL_SYNC_HOURS,
    },
    graph: {
      tenantId: raw.MAILSWEEP_GRAPH_TENANT_ID,
      clientId: raw.MAILSWEEP_GRAPH_CLIENT_ID,
      clientSecret: raw.MAILSWEEP_GRAPH_CLIENT_SECRET,
      certificatePath: raw.MAILSWEEP_GRAPH_CERTIFICATE_PATH,
      managedIdentityClientId: raw.MAILSWEEP_GRAPH_MANAGED_IDENTITY_CLIENT_ID,
      baseUrl: raw.MAILSWEEP_GRAPH_BASE_URL,
      authorityHost: raw.MAILSWEEP_GRAPH_AUTHORITY_HOST,
      maxTries: raw.MAILSWEEP_GRAPH_MAX_TRIES,
    },
    ews: {
      url: raw.MAILSWEEP_EWS_URL,
      auth: raw.MAILSWEEP_EWS_AUTH,
      username: raw.MAILSWEEP_EWS_USERNAME,
      password: raw.MAILSWEEP_EWS_PASSWORD,
      domain: raw.MAILSWEEP_EWS_DOMAIN,
      oauthScope: raw.MAILSWEEP_EWS_OAUTH_SCOPE,
      caCertificates: raw.MAILSWEEP_EWS_CA_CERTIFICATES,
      maxConcurrency: raw.MAILSWEEP_EWS_MAX_CONCURRENCY,
      maxTries: raw.MAILSWEEP_EWS_MAX_TRIES,
      pushStatusFrequencyMinutes: raw.MAILSWEEP_EWS_PUSH_STATUS_FREQUENCY_MINUTES,
    },
    hybrid: {
      onPremMailboxes: raw.MAILSWEEP_ONPREM_MAILBOXES,
      onPremDomains: raw.MAILSWEEP_ONPREM_DOMAINS,
      cacheMinutes: raw.MAILSWEEP_ONPREM_CACHE_MINUTES,
    },
    auth: {
      mode: raw.MAILSWEEP_AUTH_MODE,
      localAdminToken: raw.MAILSWEEP_LOCAL_ADMIN_TOKEN,
      localUser: toLocalUser(
        raw.MAILSWEEP_LOCAL_USER_TOKEN,
        raw.MAILSWEEP_LOCAL_USER_ADDRESS,
        raw.MAILSWEEP_LOCAL_USER_ALIASES,
      ),
      userAddressCacheMinutes: raw.MAILSWEEP_USER_ADDRESS_CACHE_MINUTES,
    },
    queue: {
      serviceBusConnectionString: raw.MAILSWEEP_SERVICEBUS,
      serviceBusNamespace: raw.MAILSWEEP_SERVICEBUS__fullyQualifiedNamespace,
      serviceBusClientId: raw.MAILSWEEP_SERVICEBUS__clientId,
      maxDeliveryCount: raw.MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT,
      retryDelayMs: raw.MAILSWEEP_QUEUE_RETRY_DELAY_MS,
      maxRetryDelayMs: raw.MAILSWEEP_QUEUE_MAX_RETRY_DELAY_MS,
    },
    subscriptions: {
      publicBaseUrl: raw.MAILSWEEP_PUBLIC_BASE_URL,
      lifetimeMinutes: raw.MAILSWEEP_SUBSCRIPTION_MINUTES,
      renewBeforeMinutes: raw.MAILSWEEP_SUBSCRIPTION_RENEW_MINUTES,
      silentMailboxHours: raw.MAILSWEEP_SILENT_MAILBOX_HOURS,
    },
    scans: {
      jobBudgetMs: raw.MAILSWEEP_SCAN_JOB_BUDGET_SECONDS * 1000,
      pageSize: raw.MAILSWEEP_SCAN_PAGE_SIZE,
      messageConcurrency: raw.MAILSWEEP_SCAN_MESSAGE_CONCURRENCY,
      maxWindowDays: raw.MAILSWEEP_SCAN_MAX_WINDOW_DAYS,
      scheduledCron: raw.MAILSWEEP_SCHEDULED_SCAN_CRON,
      scheduledRequest:
        raw.MAILSWEEP_SCHEDULED_SCAN === undefined || raw.MAILSWEEP_SCHEDULED_SCAN === ''
          ? undefined
          : (JSON.parse(raw.MAILSWEEP_SCHEDULED_SCAN) as unknown),
    },
    rules: {
      path: raw.MAILSWEEP_RULES_PATH,
      container: raw.MAILSWEEP_RULES_CONTAINER,
      maxRules: raw.MAILSWEEP_RULES_MAX_COUNT,
      refreshSeconds: raw.MAILSWEEP_RULES_REFRESH_SECONDS,
      groupCacheMinutes: raw.MAILSWEEP_RULES_GROUP_CACHE_MINUTES,
      notify: {
        sender: raw.MAILSWEEP_NOTIFY_SENDER,
        admins: raw.MAILSWEEP_NOTIFY_ADMINS,
        outboxPath: raw.MAILSWEEP_NOTIFY_OUTBOX_PATH,
        maxPerHour: raw.MAILSWEEP_NOTIFY_MAX_PER_HOUR,
      },
    },
    digests: {
      uiBaseUrl: raw.MAILSWEEP_UI_BASE_URL,
      cron: raw.MAILSWEEP_DIGEST_CRON,
      intervalHours: raw.MAILSWEEP_DIGEST_INTERVAL_HOURS,
      sender: raw.MAILSWEEP_DIGEST_SENDER?.toLowerCase(),
      folder: raw.MAILSWEEP_DIGEST_FOLDER,
      adminRecipients: raw.MAILSWEEP_DIGEST_ADMINS,
      messagesPerMinute: raw.MAILSWEEP_DIGEST_MESSAGES_PER_MINUTE,
      recipientsPerDay: raw.MAILSWEEP_DIGEST_RECIPIENTS_PER_DAY,
      maxRunSeconds: raw.MAILSWEEP_DIGEST_MAX_RUN_SECONDS,
    },
  };
}

/** Returns why a scheduled scan request is invalid, or undefined when it is valid. */
function checkScheduledScan(text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'must be JSON in the format of a POST /api/scans body';
  }
  const parsed = scanRequestSchema.safeParse(body);
  if (parsed.success) {
    return undefined;
  }
  const issue = parsed.error.issues[0];
  return `${issue?.path.join('.') || '(body)'}: ${issue?.message ?? 'invalid'}`;
}

function toLocalUser(
  token: string | undefined,
  mailbox: string | undefined,
  aliases: string[],
): Settings['auth']['localUser'] {
  return token === undefined || mailbox === undefined ? undefined : { token, mailbox, aliases };
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
