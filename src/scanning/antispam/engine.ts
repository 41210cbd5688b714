import { ScannerError } from '../../shared/errors.js';
import type { Deadline, EngineResult, Finding, MessageView, ScanEngine } from '../types.js';
import { classifyMessage } from './classifier.js';
import { readExchangeVerdicts } from './exchange-verdicts.js';
import { findGtube } from './gtube.js';
import type { SpamModel } from './model.js';

const ENGINE_NAME = 'embedded-spam';

/** Options of {@link createEmbeddedAntispam}. */
export interface EmbeddedAntispamOptions {
  /** Trained statistical model, from {@link loadSpamModel} or {@link trainSpamModel}. */
  model: SpamModel;
  /** Spam probability at or above which a message is spam. Default: the model's threshold. */
  threshold?: number;
}

/**
 * Creates the embedded antispam engine. It reports GTUBE, the verdicts Exchange Online already
 * stamped in the headers, and the statistical classifier's verdict, and it always returns the
 * classifier's score with the threshold in force.
 * @throws ScannerError `config-invalid` when `threshold` is not strictly between 0 and 1.
 */
export function createEmbeddedAntispam(options: EmbeddedAntispamOptions): ScanEngine {
  const threshold = options.threshold ?? options.model.threshold;
  if (!(threshold > 0 && threshold < 1)) {
    throw new ScannerError(
      'config-invalid',
      `Spam threshold ${threshold} is invalid: use a number between 0 and 1, such as 0.9`,
    );
  }
  return {
    name: ENGINE_NAME,
    stage: 'antispam',
    scan: (view, deadline) => scanForSpam(view, deadline, options.model, threshold),
  };
}

function scanForSpam(
  view: MessageView,
  deadline: Deadline,
  model: SpamModel,
  threshold: number,
): EngineResult {
  const findings: Finding[] = [
    ...findGtube(view, deadline, ENGINE_NAME),
    ...readExchangeVerdicts(view.headers, ENGINE_NAME),
  ];

  const { score } = classifyMessage(model, view);
  if (score >= threshold) {
    findings.push({
      stage: 'antispam',
      engine: ENGINE_NAME,
      category: 'spam',
      signature: 'Spam.Bayes',
      reason: `statistical classifier score ${score.toFixed(3)} is at or above ${threshold}`,
      score,
      mimePath: '',
    });
  }
  return { findings, spam: { score, threshold } };
}
