import { z } from 'zod';

/**
 * zod schemas for the Graph JSON mailsweep reads. Unknown properties are allowed (Graph adds them
 * over time), but every property read is checked before use.
 */

/** Graph's error envelope: `{ "error": { "code", "message" } }`. */
export const graphErrorSchema = z.object({
  error: z.object({ code: z.string().max(200), message: z.string().optional() }),
});

/** A message as selected by MESSAGE_SELECT. */
export const graphMessageSchema = z.object({
  id: z.string().min(1).max(1024),
  internetMessageId: z.string().max(2048).nullish(),
  parentFolderId: z.string().max(1024).nullish(),
  receivedDateTime: z.string().max(64).nullish(),
  isDraft: z.boolean().nullish(),
  categories: z.array(z.string()).nullish(),
});

/** An item of a delta page: a message, or `{ id, "@removed": { reason } }` for one that left. */
export const graphDeltaItemSchema = graphMessageSchema.extend({
  '@removed': z.object({ reason: z.string().optional() }).optional(),
});

/** A collection page; the item schema is applied per item. */
export const graphPageSchema = z.object({
  value: z.array(z.unknown()),
  '@odata.nextLink': z.string().optional(),
  '@odata.deltaLink': z.string().optional(),
});

/** A mail folder. */
export const graphFolderSchema = z.object({
  id: z.string().min(1).max(1024),
  displayName: z.string().max(1024),
  isHidden: z.boolean().nullish(),
  childFolderCount: z.number().int().min(0).nullish(),
});

/** A subscription; Graph never returns clientState. */
export const graphSubscriptionSchema = z.object({
  id: z.string().min(1).max(200),
  resource: z.string().max(2048),
  changeType: z.string().max(200),
  notificationUrl: z.string().max(2048),
  lifecycleNotificationUrl: z.string().max(2048).nullish(),
  expirationDateTime: z.string().max(64),
});

/** A user read with `$select=id`. */
export const graphUserIdSchema = z.object({ id: z.string().min(1).max(200) });

/** A user from `transitiveMembers/microsoft.graph.user`; mail is null for users without one. */
export const graphUserSchema = z.object({
  id: z.string().min(1).max(200),
  mail: z.string().max(320).nullish(),
});

/**
 * A user read with `$select=mail,userPrincipalName,proxyAddresses`. Graph returns proxyAddresses
 * only when selected; entries look like `SMTP:adele@contoso.com` or `x500:/o=...`.
 */
export const graphUserAddressesSchema = z.object({
  mail: z.string().max(320).nullish(),
  userPrincipalName: z.string().max(1024).nullish(),
  proxyAddresses: z.array(z.string().max(2048)).max(2000).nullish(),
});

/** An attachment of a message, read with `$select=id,name,contentType`. */
export const graphAttachmentSchema = z.object({
  id: z.string().min(1).max(2048),
  name: z.string().max(1024).nullish(),
  contentType: z.string().max(1024).nullish(),
});

/** Properties requested for every message listing, read and delta. */
export const MESSAGE_SELECT = 'id,internetMessageId,parentFolderId,receivedDateTime,isDraft';
