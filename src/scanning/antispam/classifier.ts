import type { MessageView } from '../types.js';
import type { CombiningMethod, SpamModel } from './model.js';
import { HashTokenSink, hashToken } from './token-hash.js';
import { emitTokens } from './tokenize.js';

export { hashPair, hashToken } from './token-hash.js';

/** The evidence behind one score. */
export interface Classification {
  /** Spam probability from 0 (ham) to 1 (spam). */
  score: number;
  /** Tokens that took part in the decision (at most `maxDiscriminators`). */
  clueCount: number;
}

/**
 * A model's token probabilities in an open-addressing hash table keyed by a 32-bit token hash,
 * so that a lookup reads two small typed arrays instead of a large string-keyed Map. Two tokens
 * with the same hash share a slot, and the first in the model's token order keeps it. With 2^32
 * hash values and about 10^5 tokens, an unseen token matches a trained one by accident roughly
 * once in 40,000 lookups (an estimate), which moves a score as little as one ordinary word does.
 */
interface ProbabilityTable {
  /** Token hash of slot `i` at index `2 * i`. */
  hashes: Uint32Array;
  /**
   * Smoothed spam probability of slot `i` at index `2 * i + 1`, 0 for an empty slot. It shares
   * its buffer with `hashes`, so that a lookup reads one cache line rather than two.
   */
  probabilities: Float32Array;
  /** Slot count minus one; the slot count is a power of two. */
  mask: number;
}

const tables = new WeakMap<SpamModel, ProbabilityTable>();

/** Reused by every call, because classifyMessage runs synchronously from start to end. */
const hashSink = new HashTokenSink();

/**
 * Returns the smoothed spam probability of a token hash, or 0 when the model has no such token.
 */
export function lookupProbability(model: SpamModel, hash: number): number {
  return lookupInTable(probabilityTable(model), hash);
}

function lookupInTable(table: ProbabilityTable, hash: number): number {
  let slot = hash & table.mask;
  for (;;) {
    const probability = table.probabilities[2 * slot + 1];
    if (probability === 0 || table.hashes[2 * slot] === hash) {
      return probability;
    }
    slot = (slot + 1) & table.mask;
  }
}

/**
 * Scores a token set with Gary Robinson's method. Each token's spam probability is smoothed
 * towards the unknown-word probability x of its group by the unknown-word strength. The most
 * extreme tokens give a spamminess S and a hamminess H, combined as the model's
 * {@link CombiningMethod} selects. With `chi-square`, as SpamBayes does, S and H come from Fisher's
 * chi-square test and the score is (S - H + 1) / 2: near 0.5 when the evidence conflicts. With
 * `geometric-mean`, S and H are one minus the geometric means of 1 - p and of p, and the score
 * is (1 + (S - H) / (S + H)) / 2.
 */
export function classifyTokens(model: SpamModel, tokens: Iterable<string>): Classification {
  const clues = new ClueCollector(model);
  for (const token of tokens) {
    clues.add(hashToken(token));
  }
  return clues.classify();
}

/**
 * Tokenizes and scores a message in one pass, with the result of
 * `classifyTokens(model, tokenize(view))` but without building token sets: each token is hashed
 * as it is emitted, and repeats are recognized by hash.
 * NOTE: two distinct tokens of one message with the same 32-bit hash count once here but twice
 * in classifyTokens, so the scores can differ in that case (an estimated few messages in 10^5).
 */
export function classifyMessage(model: SpamModel, view: MessageView): Classification {
  const clues = new ClueCollector(model);
  hashSink.start(clues);
  emitTokens(view, hashSink);
  return clues.classify();
}

/** Gathers the probabilities of a message's tokens, by hash, and combines the strongest. */
export class ClueCollector {
  private readonly probabilities: number[] = [];
  private readonly minimumStrength: number;
  // Looked up once per message rather than once per token.
  private readonly table: ProbabilityTable;

  constructor(private readonly model: SpamModel) {
    this.minimumStrength = model.parameters.minimumProbabilityStrength;
    this.table = probabilityTable(model);
  }

  /** Adds the token with this hash, if the model contains it and it is far enough from 0.5. */
  add(hash: number): void {
    const probability = lookupInTable(this.table, hash);
    if (probability !== 0 && Math.abs(probability - 0.5) >= this.minimumStrength) {
      this.probabilities.push(probability);
    }
  }

  /** Combines the strongest clues into a score; see {@link classifyTokens}. */
  classify(): Classification {
    const clues = strongestClues(this.probabilities, this.model.parameters.maxDiscriminators);
    if (clues.length === 0) {
      return { score: 0.5, clueCount: 0 };
    }
    let logHam = 0;
    let logSpam = 0;
    for (const probability of clues) {
      logHam += Math.log(probability);
      logSpam += Math.log(1 - probability);
    }
    if (this.model.parameters.combining === 'geometric-mean') {
      // Robinson's P and Q: one minus the geometric mean of 1 - p, and of p.
      const spamminess = 1 - Math.exp(logSpam / clues.length);
      const hamminess = 1 - Math.exp(logHam / clues.length);
      const score = (1 + (spamminess - hamminess) / (spamminess + hamminess)) / 2;
      return { score, clueCount: clues.length };
    }
    const degrees = 2 * clues.length;
    const spamminess = 1 - chiSquareSurvival(-2 * logSpam, degrees);
    const hamminess = 1 - chiSquareSurvival(-2 * logHam, degrees);
    return { score: (spamminess - hamminess + 1) / 2, clueCount: clues.length };
  }
}

/**
 * Space for the strengths that {@link strongestClues} selects from, reused by every call because
 * scoring runs synchronously from start to end. Allocating a typed array per message took about a
 * quarter of this function's time over the SpamAssassin corpus.
 */
let strengthScratch = new Float64Array(1024);

/**
 * Keeps the `limit` probabilities farthest from 0.5. The cut-off strength is the value that
 * sorting the strengths would put at index `length - limit`, found by selection instead.
 */
function strongestClues(probabilities: number[], limit: number): number[] {
  if (probabilities.length <= limit) {
    return probabilities;
  }
  if (strengthScratch.length < probabilities.length) {
    strengthScratch = new Float64Array(Math.max(probabilities.length, 2 * strengthScratch.length));
  }
  const strengths = strengthScratch.subarray(0, probabilities.length);
  for (let index = 0; index < probabilities.length; index += 1) {
    strengths[index] = Math.abs(probabilities[index] - 0.5);
  }
  const cutoff = selectAscending(strengths, strengths.length - limit);
  const kept: number[] = [];
  for (const probability of probabilities) {
    if (Math.abs(probability - 0.5) > cutoff) {
      kept.push(probability);
    }
  }
  for (const probability of probabilities) {
    if (kept.length < limit && Math.abs(probability - 0.5) === cutoff) {
      kept.push(probability);
    }
  }
  return kept;
}

/** Partition rounds after which {@link selectAscending} sorts what remains instead. */
const MAX_SELECT_ROUNDS = 64;

/**
 * Returns the value that `values.sort()` would put at `rank` (0 for the smallest), in linear
 * expected time, and reorders `values`. Hoare's selection narrows `values[left..right]`, which
 * always contains the answer: every value before `left` is at most, and every value after
 * `right` at least, each value inside. After {@link MAX_SELECT_ROUNDS} rounds a native sort of
 * that range finishes the job, which bounds the time on crafted input. An array with a NaN is
 * sorted whole, because sort() orders NaN last but `<` cannot. The only other difference from
 * sort() is that -0 and 0 compare equal, which never matters here: Math.abs never returns -0.
 */
export function selectAscending(values: Float64Array, rank: number): number {
  for (const value of values) {
    if (Number.isNaN(value)) {
      return values.sort()[rank];
    }
  }
  let left = 0;
  let right = values.length - 1;
  for (let rounds = 0; left < right; rounds += 1) {
    const pivot = medianOfThree(values[left], values[(left + right) >>> 1], values[right]);
    if (rounds >= MAX_SELECT_ROUNDS) {
      return values.subarray(left, right + 1).sort()[rank - left];
    }
    let low = left;
    let high = right;
    while (low <= high) {
      while (values[low] < pivot) {
        low += 1;
      }
      while (values[high] > pivot) {
        high -= 1;
      }
      if (low <= high) {
        const swap = values[low];
        values[low] = values[high];
        values[high] = swap;
        low += 1;
        high -= 1;
      }
    }
    // Now values[left..high] <= pivot <= values[low..right], and any between equal the pivot.
    if (rank <= high) {
      right = high;
    } else if (rank >= low) {
      left = low;
    } else {
      return pivot;
    }
  }
  return values[rank];
}

function medianOfThree(first: number, second: number, third: number): number {
  const low = Math.min(first, second);
  const high = Math.max(first, second);
  if (third <= low) {
    return low;
  }
  return third >= high ? high : third;
}

/**
 * Computes the smoothed spam probability of one token, f(w) = (s·x + n·p(w)) / (s + n), where
 * p(w) is the share of the token's frequency that falls in spam, n the number of training messages
 * that contained it, x the unknown-word probability (by default the model's global one) and s
 * its strength.
 */
export function tokenProbability(
  model: SpamModel,
  spamHits: number,
  hamHits: number,
  unknownWordProbability: number = model.parameters.unknownWordProbability,
): number {
  const { unknownWordStrength } = model.parameters;
  const spamRatio = spamHits / Math.max(model.spamMessages, 1);
  const hamRatio = hamHits / Math.max(model.hamMessages, 1);
  const raw =
    spamRatio + hamRatio > 0 ? spamRatio / (spamRatio + hamRatio) : unknownWordProbability;
  const seen = spamHits + hamHits;
  const smoothed =
    (unknownWordStrength * unknownWordProbability + seen * raw) / (unknownWordStrength + seen);
  // Keep away from 0 and 1 so that one token can never make a logarithm infinite. The lower
  // bound is also nonzero in float32, so a stored probability never equals the empty-slot mark.
  return Math.min(Math.max(smoothed, 1e-6), 1 - 1e-6);
}

/** A header field or feature prefix such as `subject:` or `url:`. */
const GROUP_PREFIX = /^([a-z0-9-]+):/;

/**
 * Returns the group of a token for its unknown-word probability: the prefix before the first
 * colon (`subject`, `url`, `received`, `meta`), or `word` for body words, word pairs and any
 * token with a space.
 */
export function tokenGroup(token: string): string {
  const prefix = GROUP_PREFIX.exec(token);
  return prefix && !token.includes(' ') ? prefix[1] : 'word';
}

/** Builds the model's probability table on first use and caches it for the model object. */
function probabilityTable(model: SpamModel): ProbabilityTable {
  const cached = tables.get(model);
  if (cached) {
    return cached;
  }
  // Tokens too close to 0.5 never become clues, so leaving them out keeps the table small enough
  // for the processor cache. Only a token within float32 rounding of the cut-off could differ.
  const { minimumProbabilityStrength, unknownWordProbability, unknownWordProbabilityByGroup } =
    model.parameters;
  const tokens: string[] = [];
  const probabilities: number[] = [];
  for (const token in model.tokens) {
    const [spamHits, hamHits] = model.tokens[token];
    // hasOwn, because a token such as `constructor:x` names an Object.prototype member.
    const group = tokenGroup(token);
    const x =
      unknownWordProbabilityByGroup && Object.hasOwn(unknownWordProbabilityByGroup, group)
        ? unknownWordProbabilityByGroup[group]
        : unknownWordProbability;
    const probability = tokenProbability(model, spamHits, hamHits, x);
    if (Math.abs(probability - 0.5) >= minimumProbabilityStrength) {
      tokens.push(token);
      probabilities.push(probability);
    }
  }
  // At most two thirds of the slots are used. Probing sequences stay short, and a smaller
  // table misses the processor cache less often: with the shipped model (72,530 tokens kept)
  // it has 131,072 slots (1 MiB) rather than the 262,144 that a half-full bound would need.
  let size = 1024;
  while (size < tokens.length * 1.5) {
    size *= 2;
  }
  const buffer = new ArrayBuffer(size * 8);
  const table: ProbabilityTable = {
    hashes: new Uint32Array(buffer),
    probabilities: new Float32Array(buffer),
    mask: size - 1,
  };
  for (let index = 0; index < tokens.length; index += 1) {
    const hash = hashToken(tokens[index]);
    let slot = hash & table.mask;
    while (table.probabilities[2 * slot + 1] !== 0 && table.hashes[2 * slot] !== hash) {
      slot = (slot + 1) & table.mask;
    }
    if (table.probabilities[2 * slot + 1] === 0) {
      table.hashes[2 * slot] = hash;
      table.probabilities[2 * slot + 1] = probabilities[index];
    }
  }
  tables.set(model, table);
  return table;
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
