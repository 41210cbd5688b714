export {
  type AuthenticationResult,
  type AuthenticationResults,
  parseAuthenticationResults,
} from './authentication-results.js';
export { type Classification, classifyMessage, classifyTokens } from './classifier.js';
export { createEmbeddedAntispam, type EmbeddedAntispamOptions } from './engine.js';
export { readExchangeVerdicts } from './exchange-verdicts.js';
export { findGtube, GTUBE } from './gtube.js';
export {
  type ClassifierParameters,
  DEFAULT_SPAM_MODEL_PATH,
  loadSpamModel,
  saveSpamModel,
  type SpamModel,
} from './model.js';
export { TOKENIZER_VERSION, tokenize } from './tokenize.js';
export {
  chooseThreshold,
  DEFAULT_CLASSIFIER_PARAMETERS,
  type TrainingSample,
  type TrainSpamModelOptions,
  trainOnTokens,
  trainSpamModel,
} from './train.js';
export {
  listMessageFiles,
  type TrainFromFoldersOptions,
  trainFromFolders,
} from './train-folders.js';
