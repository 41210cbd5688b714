import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { z } from 'zod';

import { ScannerError, toError } from '../../shared/errors.js';
import { TOKENIZER_VERSION } from './tokenize.js';

/** The model shipped with the package, retrained by `npm run train:model`. */
export const DEFAULT_SPAM_MODEL_PATH = fileURLToPath(
  new URL('../../../models/spam-model.json', import.meta.url),
);

const MODEL_FORMAT = 'mailsweep-spam-model';

/**
 * Method that turns the strongest token probabilities into one score. `chi-square` is Fisher's
 * method as SpamBayes applies it, which gives 0.5 when both spam and ham evidence are strong.
 * `geometric-mean` is Robinson's earlier combination of the geometric means of p and 1 - p,
 * which still ranks such messages by which evidence is stronger.
 */
export type CombiningMethod = 'chi-square' | 'geometric-mean';

/** Tuning of the Robinson-Fisher classifier, stored in the model so a score is reproducible. */
export interface ClassifierParameters {
  /** Probability assumed for a token never seen in training (x in Robinson's formula). */
  unknownWordProbability: number;
  /**
   * x for the tokens of one group, by group name (see `tokenGroup` in classifier.ts). A group
   * not listed uses {@link unknownWordProbability}. Absent in models trained before it existed.
   */
  unknownWordProbabilityByGroup?: Record<string, number>;
  /** Default `chi-square`, which models trained before this field existed use. */
  combining?: CombiningMethod;
  /** Weight of {@link unknownWordProbability} against observed counts (s in Robinson's formula). */
  unknownWordStrength: number;
  /** Tokens whose probability lies closer than this to 0.5 are ignored. */
  minimumProbabilityStrength: number;
  /** Most tokens combined per message, taken from the most extreme. */
  maxDiscriminators: number;
}

/**
 * A trained statistical spam model: how many spam and ham training messages contained each
 * token, plus the decision threshold chosen at training time. Plain data, saved as JSON.
 */
export interface SpamModel {
  format: typeof MODEL_FORMAT;
  /** {@link TOKENIZER_VERSION} the counts were made with. */
  tokenizerVersion: number;
  spamMessages: number;
  hamMessages: number;
  /** Score at or above which a message counts as spam, unless the engine is given another. */
  threshold: number;
  /** Description of the method that chose the threshold, for people reading the file. */
  thresholdMethod: string;
  parameters: ClassifierParameters;
  /** Token to [spam messages containing it, ham messages containing it]. */
  tokens: Record<string, [number, number]>;
}

const count = z.number().int().nonnegative();
const probability = z.number().gt(0).lt(1);

const spamModelSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  tokenizerVersion: z.literal(TOKENIZER_VERSION),
  spamMessages: count.positive(),
  hamMessages: count.positive(),
  threshold: probability,
  thresholdMethod: z.string(),
  parameters: z.object({
    unknownWordProbability: probability,
    unknownWordProbabilityByGroup: z.record(z.string(), probability).optional(),
    combining: z.enum(['chi-square', 'geometric-mean']).optional(),
    unknownWordStrength: z.number().positive(),
    minimumProbabilityStrength: z.number().min(0).lt(0.5),
    maxDiscriminators: z.number().int().positive(),
  }),
});

/**
 * Reads and validates a spam model file.
 * @param path JSON model file. Default: the model shipped in `models/spam-model.json`.
 * @throws ScannerError `model-invalid` when the file cannot be read, is not JSON, or does not
 *   match the model schema (the message lists the failing fields).
 */
export async function loadSpamModel(path: string = DEFAULT_SPAM_MODEL_PATH): Promise<SpamModel> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error: unknown) {
    throw new ScannerError('model-invalid', `Spam model ${path} could not be read as JSON`, {
      cause: toError(error),
    });
  }
  // The token table is checked by findInvalidToken instead of zod, which took most of the load
  // time on 10^5 entries.
  const { tokens, ...header } = isObject(parsed) ? parsed : { tokens: undefined };
  const result = spamModelSchema.safeParse(header);
  if (!result.success) {
    const problems = result.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ScannerError(
      'model-invalid',
      `Spam model ${path} is invalid: ${problems.join('; ')}. Retrain it with the current version.`,
    );
  }
  if (!isObject(tokens)) {
    throw new ScannerError(
      'model-invalid',
      `Spam model ${path} is invalid: tokens: expected an object. Retrain it.`,
    );
  }
  const invalidToken = findInvalidToken(tokens);
  if (invalidToken !== undefined) {
    throw new ScannerError(
      'model-invalid',
      `Spam model ${path} is invalid: tokens.${invalidToken}: expected two non-negative ` +
        'integer counts. Retrain it with the current version.',
    );
  }
  return { ...result.data, tokens: tokens as SpamModel['tokens'] };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Returns the first token whose counts are not two non-negative integers, if any. */
function findInvalidToken(tokens: Record<string, unknown>): string | undefined {
  for (const token in tokens) {
    const counts = tokens[token];
    if (
      !Array.isArray(counts) ||
      counts.length !== 2 ||
      !isCount(counts[0]) ||
      !isCount(counts[1])
    ) {
      return token.slice(0, 40);
    }
  }
  return undefined;
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/**
 * Writes a model as JSON with its tokens sorted, so that training the same messages twice gives
 * byte-identical files.
 */
export async function saveSpamModel(model: SpamModel, path: string): Promise<void> {
  const tokens: Record<string, [number, number]> = {};
  for (const token of Object.keys(model.tokens).sort()) {
    tokens[token] = model.tokens[token];
  }
  const { tokens: _unsorted, ...header } = model;
  const headerJson = JSON.stringify(header, null, 2).replace(/\n}$/, ',\n  "tokens": {\n');
  const lines = Object.entries(tokens).map(
    ([token, counts]) => `    ${JSON.stringify(token)}: [${counts[0]}, ${counts[1]}]`,
  );
  await writeFile(path, `${headerJson}${lines.join(',\n')}\n  }\n}\n`, 'utf8');
}
