import type { MessageView } from '../types.js';
import { classifyTokens, tokenGroup } from './classifier.js';
import type { ClassifierParameters, SpamModel } from './model.js';
import { TOKENIZER_VERSION, tokenize } from './tokenize.js';

/** Classifier tuning used unless training is given other values. */
export const DEFAULT_CLASSIFIER_PARAMETERS: Readonly<ClassifierParameters> = {
  unknownWordProbability: 0.5,
  unknownWordStrength: 0.45,
  minimumProbabilityStrength: 0.1,
  // Of 50, 100, 150, 200, 300 and 500 clues, 100 caught the largest share of held-out training
  // spam (spam-1 against easy-ham-1) at the cross-validated threshold (see docs/benchmarks.md).
  maxDiscriminators: 100,
  combining: 'geometric-mean',
};

/** Tokens seen in fewer training messages than this do not count towards a group's x. */
const GROUP_ESTIMATE_MIN_MESSAGES = 10;
/** A group with fewer such tokens than this keeps the global unknown-word probability. */
const GROUP_ESTIMATE_MIN_TOKENS = 10;

/** Options of {@link trainSpamModel}. */
export interface TrainSpamModelOptions {
  /** Classifier tuning. Default: {@link DEFAULT_CLASSIFIER_PARAMETERS}. */
  parameters?: Partial<ClassifierParameters>;
  /** Tokens seen in fewer training messages than this are dropped from the model. Default 2. */
  minTokenMessages?: number;
  /** A fixed threshold, which skips cross-validation. Default: chosen by cross-validation. */
  threshold?: number;
  /** Number of cross-validation folds for choosing the threshold. Default 5. */
  folds?: number;
  /**
   * Largest share of the training ham that may score at or above the chosen threshold in
   * cross-validation. Default 0.001 (one in a thousand).
   */
  maxHamFalsePositiveRate?: number;
  /**
   * Estimates the unknown-word probability x of each token group from the training counts,
   * unless `parameters.unknownWordProbabilityByGroup` is given. Default true.
   */
  estimateGroupUnknownWordProbability?: boolean;
}

/** One training message with its label. */
export interface TrainingSample {
  view: MessageView;
  spam: boolean;
}

interface TokenizedSample {
  tokens: string[];
  spam: boolean;
}

/**
 * Trains a spam model on labelled messages. Unless a threshold is given, the decision threshold
 * is chosen by k-fold cross-validation on these same messages (see {@link chooseThreshold}), so
 * no test data is needed. The result depends only on the messages and their order.
 */
export async function trainSpamModel(
  samples: AsyncIterable<TrainingSample> | Iterable<TrainingSample>,
  options: TrainSpamModelOptions = {},
): Promise<SpamModel> {
  const tokenized: TokenizedSample[] = [];
  for await (const sample of samples) {
    tokenized.push({ tokens: [...tokenize(sample.view)], spam: sample.spam });
  }
  return trainOnTokens(tokenized, options);
}

/** Trains from already tokenized samples; exported for evaluation scripts that cache tokens. */
export function trainOnTokens(
  samples: readonly TokenizedSample[],
  options: TrainSpamModelOptions = {},
): SpamModel {
  const parameters = { ...DEFAULT_CLASSIFIER_PARAMETERS, ...options.parameters };
  const estimateGroups =
    options.estimateGroupUnknownWordProbability !== false &&
    options.parameters?.unknownWordProbabilityByGroup === undefined;
  const minTokenMessages = options.minTokenMessages ?? 2;
  const model = buildModel(samples, parameters, minTokenMessages, estimateGroups);
  if (options.threshold !== undefined) {
    return { ...model, threshold: options.threshold, thresholdMethod: 'fixed at training' };
  }

  const folds = options.folds ?? 5;
  const maxRate = options.maxHamFalsePositiveRate ?? 0.001;
  const scores = crossValidate(samples, parameters, minTokenMessages, folds, estimateGroups);
  const threshold = chooseThreshold(scores, maxRate);
  const thresholdMethod =
    `${folds}-fold cross-validation on the training messages: the lowest threshold on a 0.001 ` +
    `grid at which at most ${maxRate * 100}% of held-out training ham scored at or above it`;
  return { ...model, threshold, thresholdMethod };
}

function buildModel(
  samples: readonly TokenizedSample[],
  parameters: ClassifierParameters,
  minTokenMessages: number,
  estimateGroups: boolean,
): SpamModel {
  const counts = new Map<string, [number, number]>();
  let spamMessages = 0;
  let hamMessages = 0;
  for (const sample of samples) {
    if (sample.spam) {
      spamMessages += 1;
    } else {
      hamMessages += 1;
    }
    for (const token of sample.tokens) {
      let entry = counts.get(token);
      if (!entry) {
        entry = [0, 0];
        counts.set(token, entry);
      }
      entry[sample.spam ? 0 : 1] += 1;
    }
  }

  const tokens: Record<string, [number, number]> = {};
  for (const token of [...counts.keys()].sort()) {
    const entry = counts.get(token) as [number, number];
    // `__proto__` (a word a message may contain) cannot be a plain object key.
    if (entry[0] + entry[1] >= minTokenMessages && token !== '__proto__') {
      tokens[token] = entry;
    }
  }
  const modelParameters = { ...parameters };
  if (estimateGroups) {
    modelParameters.unknownWordProbabilityByGroup = estimateGroupProbabilities(
      counts,
      Math.max(spamMessages, 1),
      Math.max(hamMessages, 1),
    );
  }
  return {
    format: 'mailsweep-spam-model',
    tokenizerVersion: TOKENIZER_VERSION,
    spamMessages: Math.max(spamMessages, 1),
    hamMessages: Math.max(hamMessages, 1),
    threshold: 0.9,
    thresholdMethod: '',
    parameters: modelParameters,
    tokens,
  };
}

/**
 * Estimates x for each token group: the mean spam share of the group's tokens that are common
 * enough to have a reliable share. A rare token of a header group such as `received` or `from`
 * then starts near the typical share of its field instead of at 0.5.
 */
function estimateGroupProbabilities(
  counts: ReadonlyMap<string, [number, number]>,
  spamMessages: number,
  hamMessages: number,
): Record<string, number> {
  const sums = new Map<string, { total: number; tokens: number }>();
  for (const [token, [spamHits, hamHits]] of counts) {
    if (spamHits + hamHits < GROUP_ESTIMATE_MIN_MESSAGES) {
      continue;
    }
    const spamRatio = spamHits / spamMessages;
    const share = spamRatio / (spamRatio + hamHits / hamMessages);
    const group = tokenGroup(token);
    const sum = sums.get(group) ?? { total: 0, tokens: 0 };
    sum.total += share;
    sum.tokens += 1;
    sums.set(group, sum);
  }
  const byGroup: Record<string, number> = {};
  for (const group of [...sums.keys()].sort()) {
    const { total, tokens } = sums.get(group)!;
    if (tokens >= GROUP_ESTIMATE_MIN_TOKENS && group !== '__proto__') {
      // Kept inside (0, 1), which the model schema requires of a probability.
      byGroup[group] = Math.min(Math.max(total / tokens, 0.001), 0.999);
    }
  }
  return byGroup;
}

/** Held-out scores of every sample, each scored by a model trained without its fold. */
function crossValidate(
  samples: readonly TokenizedSample[],
  parameters: ClassifierParameters,
  minTokenMessages: number,
  folds: number,
  estimateGroups: boolean,
): { score: number; spam: boolean }[] {
  const scores: { score: number; spam: boolean }[] = [];
  for (let fold = 0; fold < folds; fold += 1) {
    const training = samples.filter((_, index) => index % folds !== fold);
    const model = buildModel(training, parameters, minTokenMessages, estimateGroups);
    samples.forEach((sample, index) => {
      if (index % folds === fold) {
        scores.push({ score: classifyTokens(model, sample.tokens).score, spam: sample.spam });
      }
    });
  }
  return scores;
}

/**
 * Picks the lowest threshold on a 0.001 grid from 0.500 to 0.999 at which the share of held-out
 * ham scoring at or above it is at most `maxHamFalsePositiveRate`. The grid is fine because
 * geometric-mean scores of spam and ham lie closer together than chi-square ones.
 */
export function chooseThreshold(
  scores: readonly { score: number; spam: boolean }[],
  maxHamFalsePositiveRate: number,
): number {
  const hamScores = scores.filter((entry) => !entry.spam).map((entry) => entry.score);
  for (let step = 500; step <= 999; step += 1) {
    const threshold = step / 1000;
    const falsePositives = hamScores.filter((score) => score >= threshold).length;
    if (falsePositives <= maxHamFalsePositiveRate * hamScores.length) {
      return threshold;
    }
  }
  return 0.999;
}
