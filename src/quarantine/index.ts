export {
  createBlobQuarantineStore,
  type BlobQuarantineStoreOptions,
} from './blob-quarantine-store.js';
export { MAX_METADATA_BYTES } from './metadata-blob.js';
export { startLocalAzurite, type LocalAzurite, type LocalAzuriteOptions } from './local-azurite.js';
export {
  normalizeMailbox,
  parseQuarantineId,
  quarantineIdSchema,
  toQuarantineId,
} from './quarantine-id.js';
export type {
  NewQuarantineItem,
  QuarantineListOptions,
  QuarantineMetadata,
  QuarantinePutResult,
  QuarantineStore,
} from './quarantine-types.js';
