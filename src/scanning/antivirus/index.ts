export { createEmbeddedAntivirus, type EmbeddedAntivirusOptions } from './embedded-antivirus.js';
export { loadHashBlocklist, parseHashBlocklist } from './hash-blocklist.js';
