export { type ClamdClient, type ClamdClientOptions, createClamdClient } from './clamd-client.js';
export {
  type ClamdEngineOptions,
  createClamdEngine,
} from './clamd-engine.js';
export {
  type ClamdScanResult,
  type ClamdVersion,
  parseScanReply,
  parseVersionReply,
} from './clamd-reply.js';
