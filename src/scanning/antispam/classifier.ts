import type { SpamModel } from './model.js';

/** Probabilities derived from a model's counts, computed once per model object. */
const probabilityCache = new WeakMap<SpamModel, Map<string, number>>();

/** The evidence behind one score. */
export interface Classification {
  /** Spam probability from 0 (ham) to 1 (spam). */
  score: number;
  /** Tokens that took part in the decision (at most `maxDiscriminators`). */
  clueCount: number;
}

/**
 * Scores a token set with Gary Robinson's chi-square method, as SpamBayes applies it. Each
 * token's spam probability is smoothed towards 0.5 by the unknown-word strength. The most
 * extreme tokens are combined with Fisher's chi-square test, once for spamminess S and once for
 * hamminess H, and the score is (S - H + 1) / 2: near 0.5 when the evidence conflicts.
 */
export function classifyTokens(model: SpamModel, tokens: Iterable<string>): Classification {
  const probabilities = tokenProbabilities(model);
  const { minimumProbabilityStrength, maxDiscriminators } = model.parameters;

  const clues: number[] = [];
  for (const token of tokens) {
    const probability = probabilities.get(token);
    if (probability !== undefined && Math.abs(probability - 0.5) >= minimumProbabilityStrength) {
      clues.push(probability);
    }
  }
  if (clues.length > maxDiscriminators) {
    clues.sort((a, b) => Math.abs(b - 0.5) - Math.abs(a - 0.5));
    clues.length = maxDiscriminators;
  }
  if (clues.length === 0) {
    return { score: 0.5, clueCount: 0 };
  }

  let logHam = 0;
  let logSpam = 0;
  for (const probability of clues) {
    logHam += Math.log(probability);
    logSpam += Math.log(1 - probability);
  }
  const degrees = 2 * clues.length;
  const spamminess = 1 - chiSquareSurvival(-2 * logSpam, degrees);
  const hamminess = 1 - chiSquareSurvival(-2 * logHam, degrees);
  return { score: (spamminess - hamminess + 1) / 2, clueCount: clues.length };
}

/**
 * Computes the smoothed spam probability of one token, f(w) = (s·x + n·p(w)) / (s + n), where
 * p(w) is the share of the token's frequency that falls in spam, n the number of training messages
 * that contained it, x the unknown-word probability and s its strength.
 */
export function tokenProbability(model: SpamModel, spamHits: number, hamHits: number): number {
  const { unknownWordProbability, unknownWordStrength } = model.parameters;
  const spamRatio = spamHits / Math.max(model.spamMessages, 1);
  const hamRatio = hamHits / Math.max(model.hamMessages, 1);
  const raw =
    spamRatio + hamRatio > 0 ? spamRatio / (spamRatio + hamRatio) : unknownWordProbability;
  const seen = spamHits + hamHits;
  const smoothed =
    (unknownWordStrength * unknownWordProbability + seen * raw) / (unknownWordStrength + seen);
  // Keep away from 0 and 1 so that one token can never make a logarithm infinite.
  return Math.min(Math.max(smoothed, 1e-6), 1 - 1e-6);
}

function tokenProbabilities(model: SpamModel): Map<string, number> {
  const cached = probabilityCache.get(model);
  if (cached) {
    return cached;
  }
  const probabilities = new Map<string, number>();
  for (const [token, [spamHits, hamHits]] of Object.entries(model.tokens)) {
    probabilities.set(token, tokenProbability(model, spamHits, hamHits));
  }
  probabilityCache.set(model, probabilities);
  return probabilities;
}

/**
 * Probability that a chi-square variable with an even number of degrees of freedom exceeds
 * `chiSquare`, from the closed-form series for even degrees.
 */
function chiSquareSurvival(chiSquare: number, degrees: number): number {
  const half = chiSquare / 2;
  let term = Math.exp(-half);
  let sum = term;
  for (let index = 1; index < degrees / 2; index += 1) {
    term *= half / index;
    sum += term;
  }
  return Math.min(sum, 1);
}
