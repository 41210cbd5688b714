export { createEmbeddedAntiphishing, type EmbeddedAntiphishingOptions } from './engine.js';
export type { ExtractedUrl, UrlSource } from './extracted-url.js';
export { ENGINE_NAME, MAX_FINDINGS_PER_SIGNATURE } from './finding-recorder.js';
export { MAX_ANCHOR_TEXT_CHARS } from './html-links.js';
export { type LookalikeKind, MIN_EDIT_DISTANCE_LABEL_LENGTH } from './lookalike.js';
export { MAX_URLS_PER_MESSAGE, extractUrls } from './url-extraction.js';
export { type UrlFeed, type UrlFeedMatch, loadUrlFeed, parseUrlFeed } from './url-feed.js';
