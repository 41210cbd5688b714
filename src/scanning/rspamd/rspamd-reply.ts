import { z } from 'zod';

/**
 * rspamd's actions, from its documentation of the /checkv2 reply. `soft reject` asks the sender
 * to try later (greylisting, rate limits); the others follow from the score.
 * @see https://rspamd.com/doc/architecture/protocol.html
 */
export const RSPAMD_ACTIONS = [
  'no action',
  'greylist',
  'add header',
  'rewrite subject',
  'soft reject',
  'reject',
] as const;

/** One of {@link RSPAMD_ACTIONS}. */
export type RspamdAction = (typeof RSPAMD_ACTIONS)[number];

/** Symbol names are rule identifiers (`MISSING_MID`, `R_SPF_FAIL`), never message content. */
const symbolName = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/);

const symbolSchema = z.object({
  name: symbolName,
  score: z.number().finite(),
  description: z.string().max(500).optional(),
});

/** The fields of a /checkv2 reply that mailsweep uses; other fields are ignored. */
export const checkReplySchema = z.object({
  is_skipped: z.boolean().optional(),
  score: z.number().finite(),
  required_score: z.number().finite(),
  action: z.enum(RSPAMD_ACTIONS),
  symbols: z.record(z.string(), symbolSchema).default({}),
});

/** A validated /checkv2 reply. */
export type CheckReply = z.infer<typeof checkReplySchema>;
