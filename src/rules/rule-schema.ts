import { z } from 'zod';

/** Points of the pipeline where rules run: before the engines, per attachment, on the results. */
export const RULE_POINTS = ['message', 'attachment', 'results'] as const;
export type RulePoint = (typeof RULE_POINTS)[number];

/** Fields whose values are text. A message can have several values (recipients, attachments). */
export const TEXT_FIELDS = [
  'sender.address',
  'sender.domain',
  'envelope.sender',
  'recipient',
  'from.displayName',
  'subject',
  'body',
  'header',
  'attachment.name',
  'attachment.extension',
  'attachment.trueType',
  'archive.memberName',
  'archive.memberType',
  'auth.spf',
  'auth.dkim',
  'auth.dmarc',
  'sender.ip',
  'mailbox',
  'folder',
  'av.category',
  'phishing.finding',
] as const;

/** Fields whose values are numbers (bytes, counts, a spam score from 0 to 1). */
export const NUMBER_FIELDS = [
  'attachment.size',
  'attachment.count',
  'message.size',
  'spam.score',
] as const;

export const BOOLEAN_FIELDS = ['envelope.fromMismatch', 'archive.encrypted'] as const;

export const TIME_FIELDS = ['received'] as const;

export type TextField = (typeof TEXT_FIELDS)[number];
export type NumberField = (typeof NUMBER_FIELDS)[number];
export type BooleanField = (typeof BOOLEAN_FIELDS)[number];
export type ConditionField = TextField | NumberField | BooleanField | (typeof TIME_FIELDS)[number];

/** Fields that read engine results, so they are valid only at the `results` point. */
export const RESULT_FIELDS: ReadonlySet<ConditionField> = new Set([
  'av.category',
  'spam.score',
  'phishing.finding',
]);

export const TEXT_OPERATORS = [
  'is',
  'isNot',
  'contains',
  'notContains',
  'matches',
  'notMatches',
  'inList',
  'notInList',
  'inRange',
  'notInRange',
] as const;
export const NUMBER_OPERATORS = ['is', 'isNot', 'atLeast', 'atMost', 'between'] as const;
export const TIME_OPERATORS = ['within', 'between'] as const;

export type TextOperator = (typeof TEXT_OPERATORS)[number];
export type NumberOperator = (typeof NUMBER_OPERATORS)[number];

/** Maximum characters in one regular expression; RE2 programs grow with the pattern. */
export const MAX_PATTERN_CHARS = 1000;

/** One or more strings; a list matches when any item does. */
const textValues = z.union([
  z.string().min(1).max(4096),
  z.array(z.string().min(1).max(4096)).min(1).max(1000),
]);

const listName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a list name of letters, digits, _ . -');

const clock = z
  .string()
  .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be a 24-hour time like 08:30');

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** Value schema of each operator, by field kind. */
export const TEXT_VALUE_SCHEMAS: Record<TextOperator, z.ZodType> = {
  is: textValues,
  isNot: textValues,
  contains: textValues,
  notContains: textValues,
  matches: z.string().min(1).max(MAX_PATTERN_CHARS),
  notMatches: z.string().min(1).max(MAX_PATTERN_CHARS),
  inList: listName,
  notInList: listName,
  inRange: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(1000)]),
  notInRange: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(1000)]),
};

const finite = z.number().finite().min(0);

export const NUMBER_VALUE_SCHEMAS: Record<NumberOperator, z.ZodType> = {
  is: finite,
  isNot: finite,
  atLeast: finite,
  atMost: finite,
  between: z
    .tuple([finite, finite])
    .refine(([low, high]) => low <= high, 'must be [minimum, maximum] with minimum <= maximum'),
};

export const timeWindowSchema = z.strictObject({
  days: z.array(z.enum(WEEKDAYS)).min(1).optional(),
  start: clock,
  end: clock,
  /** IANA time zone such as `Europe/Berlin`; default UTC. */
  timeZone: z.string().min(1).max(64).optional(),
});

export const dateRangeSchema = z
  .strictObject({
    after: z.iso.datetime({ offset: true }).optional(),
    before: z.iso.datetime({ offset: true }).optional(),
  })
  .refine(
    (range) => range.after !== undefined || range.before !== undefined,
    'must set after, before or both',
  );

export type TimeWindow = z.infer<typeof timeWindowSchema>;
export type DateRange = z.infer<typeof dateRangeSchema>;

/**
 * A condition as written. compileCondition checks the operator and value against the field's kind,
 * so that an error names the operator or the value that is wrong.
 */
const conditionSchema = z.strictObject({
  field: z.enum([...TEXT_FIELDS, ...NUMBER_FIELDS, ...BOOLEAN_FIELDS, ...TIME_FIELDS]),
  operator: z.string().min(1),
  value: z.unknown(),
  /** Header field name, for the `header` field only. */
  header: z
    .string()
    .regex(/^[!-9;-~]{1,100}$/, 'must be a header field name')
    .optional(),
});

export type ConditionInput = z.infer<typeof conditionSchema>;

export const SKIPPABLE_STAGES = ['antivirus', 'antispam', 'antiphishing'] as const;

/** Placeholders a notification template may use. */
export const TEMPLATE_PLACEHOLDERS = ['rule', 'reason', 'point', 'mimePath', 'mailbox'] as const;

const actionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('quarantine') }),
  z.strictObject({ type: z.literal('delete') }),
  z.strictObject({ type: z.literal('junk') }),
  z
    .strictObject({
      type: z.literal('tag'),
      category: z.string().trim().min(1).max(255).optional(),
      flag: z.boolean().optional(),
      subjectPrefix: z.string().min(1).max(64).optional(),
    })
    .refine(
      (tag) => tag.category !== undefined || tag.flag === true || tag.subjectPrefix !== undefined,
      'must set category, flag or subjectPrefix',
    ),
  z.strictObject({ type: z.literal('removeAttachment') }),
  z.strictObject({
    type: z.literal('notify'),
    to: z.enum(['admin', 'recipient']),
    template: z
      .string()
      .min(1)
      .max(4000)
      .refine(
        (template) =>
          [...template.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].every((match) =>
            (TEMPLATE_PLACEHOLDERS as readonly string[]).includes(match[1]),
          ),
        `may use only the placeholders ${TEMPLATE_PLACEHOLDERS.map((name) => `{{${name}}}`).join(', ')}`,
      ),
  }),
  z.strictObject({ type: z.literal('log') }),
  z.strictObject({ type: z.literal('skip'), stages: z.array(z.enum(SKIPPABLE_STAGES)).min(1) }),
  z.strictObject({ type: z.literal('continue') }),
  z.strictObject({ type: z.literal('stop') }),
]);

export type RuleAction = z.infer<typeof actionSchema>;

const scopeSchema = z.strictObject({
  mailboxes: z.array(z.string().min(3).max(320)).min(1).optional(),
  groups: z.array(z.string().min(1).max(256)).min(1).optional(),
  folders: z.array(z.string().min(1).max(256)).min(1).optional(),
  triggers: z
    .array(z.enum(['arrival', 'catch-up', 'scheduled', 'on-demand']))
    .min(1)
    .optional(),
});

export type RuleScope = z.infer<typeof scopeSchema>;

const ruleSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  enabled: z.boolean().default(true),
  point: z.enum(RULE_POINTS).default('message'),
  scope: scopeSchema.optional(),
  conditions: z.array(conditionSchema).min(1, 'must have at least one condition').max(64),
  actions: z.array(actionSchema).min(1, 'must have at least one action').max(16),
});

export type RuleInput = z.infer<typeof ruleSchema>;

/** A named list: inline values, or a file with one address, domain or IP range per line. */
const listSchema = z.union([
  z.strictObject({ values: z.array(z.string().trim().min(1).max(320)).max(100_000) }),
  z.strictObject({ file: z.string().min(1).max(1024) }),
]);

export type ListInput = z.infer<typeof listSchema>;

/**
 * A rule set as stored and sent to the API. `mode: "log-only"` records what each rule would do
 * without changing any verdict.
 */
export const ruleSetSchema = z.strictObject({
  mode: z.enum(['enforce', 'log-only']).default('enforce'),
  lists: z.record(listName, listSchema).default({}),
  rules: z.array(ruleSchema).min(1, 'must contain at least one rule'),
});

export type RuleSetInput = z.infer<typeof ruleSetSchema>;
