export { type ConnectingClient, findConnectingClient } from './received-chain.js';
export {
  type CheckContext,
  createRspamdClient,
  parseCheckReply,
  type RspamdClient,
  type RspamdClientOptions,
} from './rspamd-client.js';
export { createRspamdEngine, type RspamdEngineOptions, toCheckContext } from './rspamd-engine.js';
export { type CheckReply, RSPAMD_ACTIONS, type RspamdAction } from './rspamd-reply.js';
