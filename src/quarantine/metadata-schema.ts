import { z } from 'zod';

import type { QuarantineMetadata } from './quarantine-types.js';
import { quarantineIdSchema } from './quarantine-id.js';

/** Version of the metadata JSON document; bump it when a field changes meaning. */
export const METADATA_SCHEMA_VERSION = 1;

const categorySchema = z.enum(['clean', 'spam', 'phishing', 'malware', 'policy', 'unscannable']);

const findingSchema = z.object({
  stage: z.enum(['extract', 'rules', 'antivirus', 'antispam', 'antiphishing']),
  engine: z.string(),
  category: categorySchema.exclude(['clean']),
  signature: z.string(),
  reason: z.string(),
  score: z.number().optional(),
  mimePath: z.string(),
});

const verdictSchema = z.object({
  category: categorySchema,
  action: z.enum(['none', 'tag', 'junk', 'quarantine', 'delete']),
  findings: z.array(findingSchema),
  spam: z.object({ score: z.number(), threshold: z.number() }).optional(),
  durationMs: z.number(),
  decidingRule: z.string().optional(),
});

const isoTime = z.iso.datetime({ offset: true });

/**
 * The metadata.json document as stored. It is read back through this schema because anyone with
 * write access to the container can change it, and a bad document must fail as `blob-integrity`
 * rather than flow on as trusted data.
 */
export const storedMetadataSchema = z.object({
  schemaVersion: z.literal(METADATA_SCHEMA_VERSION),
  id: quarantineIdSchema,
  mailbox: z.string().optional(),
  folder: z.string().optional(),
  messageId: z.string().optional(),
  internetMessageId: z.string().optional(),
  sender: z.string().optional(),
  recipients: z.array(z.string()),
  subject: z.string().optional(),
  receivedAt: isoTime.optional(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  verdict: verdictSchema,
  source: z.string().optional(),
  quarantinedAt: isoTime,
  expiresAt: isoTime,
});

/** Serializes metadata as the UTF-8 JSON document stored next to the message. */
export function toMetadataDocument(metadata: QuarantineMetadata): Buffer {
  const document = { schemaVersion: METADATA_SCHEMA_VERSION, ...metadata };
  return Buffer.from(JSON.stringify(document), 'utf8');
}

/** Parses a stored document; returns undefined when it is not valid metadata JSON. */
export function tryParseMetadataDocument(bytes: Buffer): QuarantineMetadata | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  const result = storedMetadataSchema.safeParse(parsed);
  if (!result.success) {
    return undefined;
  }
  const { schemaVersion: _schemaVersion, ...metadata } = result.data;
  return metadata;
}
