import { z } from 'zod';

import type { FolderRef, MailboxMessageRef } from '../mailbox/mailbox-client.js';
import { ScannerError } from '../shared/errors.js';
import { toScannerError } from './ews-errors.js';
import type { ResponseMessage } from './ews-soap.js';
import { attribute, child, children, text, type XmlNode, type XmlValue } from './ews-xml.js';

/** Item element names EWS uses for the kinds of items a mail folder holds. */
const ITEM_ELEMENTS = [
  'Message',
  'Item',
  'MeetingRequest',
  'MeetingResponse',
  'MeetingCancellation',
  'PostItem',
];

/** Properties read for every listed or synced item; ids, times and sizes, never content. */
const ITEM_FIELDS = [
  'item:DateTimeReceived',
  'item:Size',
  'item:ParentFolderId',
  'item:IsDraft',
  'message:InternetMessageId',
];

/** Validates an item's properties after they are read out of the XML tree. */
const itemSchema = z.object({
  id: z.string().min(1).max(4096),
  internetMessageId: z.string().max(4096).optional(),
  folderId: z.string().min(1).max(4096).optional(),
  receivedAt: z.iso.datetime({ offset: true }).optional(),
  sizeBytes: z
    .string()
    .regex(/^\d{1,15}$/)
    .transform(Number)
    .optional(),
  isDraft: z.enum(['true', 'false']).optional(),
});

/** Returns an ItemShape with IdOnly and the listing properties, optionally with MIME. */
export function itemShape(options: { mime?: boolean; fields?: string[] } = {}): XmlNode {
  const shape: XmlNode = { 't:BaseShape': 'IdOnly' };
  if (options.mime === true) {
    shape['t:IncludeMimeContent'] = 'true';
  }
  shape['t:AdditionalProperties'] = {
    't:FieldURI': (options.fields ?? ITEM_FIELDS).map((uri) => ({ '@_FieldURI': uri })),
  };
  return shape;
}

/** Returns a folder element: DistinguishedFolderId for a well-known name, else FolderId. */
export function folderElement(folder: FolderRef | { distinguished: string }): XmlNode {
  if ('wellKnown' in folder) {
    return { 't:DistinguishedFolderId': { '@_Id': folder.wellKnown } };
  }
  if ('distinguished' in folder) {
    return { 't:DistinguishedFolderId': { '@_Id': folder.distinguished } };
  }
  return { 't:FolderId': { '@_Id': folder.folderId } };
}

/** Returns an ItemIds element naming one item. */
export function itemIds(id: string): XmlNode {
  return { 't:ItemId': { '@_Id': id } };
}

/** One comparison of a restriction: `IsGreaterThanOrEqualTo`, `IsLessThan` and so on. */
export interface Comparison {
  operator: 'IsGreaterThanOrEqualTo' | 'IsLessThan' | 'IsLessThanOrEqualTo';
  fieldUri: string;
  value: string;
}

/** Returns a Restriction holding the comparisons, joined with And when there are several. */
export function restriction(comparisons: Comparison[]): XmlNode | undefined {
  if (comparisons.length === 0) {
    return undefined;
  }
  const grouped: XmlNode = {};
  for (const comparison of comparisons) {
    const key = `t:${comparison.operator}`;
    const node: XmlNode = {
      't:FieldURI': { '@_FieldURI': comparison.fieldUri },
      't:FieldURIOrConstant': { 't:Constant': { '@_Value': comparison.value } },
    };
    const existing = grouped[key];
    grouped[key] = existing === undefined ? [node] : [...(existing as XmlNode[]), node];
  }
  return comparisons.length === 1 ? grouped : { 't:And': grouped };
}

/** Returns the item elements of an `Items` container, whatever their kind. */
export function itemNodes(items: XmlValue): XmlNode[] {
  return ITEM_ELEMENTS.flatMap((name) => children(items, name));
}

/**
 * Reads an item element into a MailboxMessageRef.
 * @throws ScannerError `mailbox-request-failed` naming the invalid property, never its value.
 */
export function toMessageRef(node: XmlNode, operation: string): MailboxMessageRef {
  const raw = {
    id: attribute(child(node, 'ItemId'), 'Id'),
    internetMessageId: text(node, 'InternetMessageId'),
    folderId: attribute(child(node, 'ParentFolderId'), 'Id'),
    receivedAt: text(node, 'DateTimeReceived'),
    sizeBytes: text(node, 'Size'),
    isDraft: text(node, 'IsDraft'),
  };
  const parsed = itemSchema.safeParse(raw);
  if (!parsed.success) {
    throw unexpectedShape(parsed.error, operation);
  }
  const item = parsed.data;
  const ref: MailboxMessageRef = { id: item.id };
  if (item.internetMessageId !== undefined) {
    ref.internetMessageId = item.internetMessageId;
  }
  if (item.folderId !== undefined) {
    ref.folderId = item.folderId;
  }
  if (item.receivedAt !== undefined) {
    ref.receivedAt = new Date(item.receivedAt).toISOString();
  }
  if (item.sizeBytes !== undefined) {
    ref.sizeBytes = item.sizeBytes;
  }
  if (item.isDraft !== undefined) {
    ref.isDraft = item.isDraft === 'true';
  }
  return ref;
}

/**
 * Returns the single response message of a one-item call when it succeeded.
 * @throws ScannerError mapped from its ResponseCode when it did not.
 */
export function expectSuccess(messages: ResponseMessage[], operation: string): XmlNode {
  const first = messages[0];
  if (first === undefined) {
    throw new ScannerError('mailbox-request-failed', 'EWS response has no response message', {
      fields: { operation },
    });
  }
  if (first.responseClass === 'Error' || first.responseCode !== 'NoError') {
    throw toScannerError(first.responseCode, operation);
  }
  return first.node;
}

/** Reads the id of the first item in a response message's Items (MoveItem, CreateItem). */
export function firstItemId(message: XmlNode, operation: string): string {
  const item = itemNodes(child(message, 'Items'))[0];
  const id = attribute(child(item, 'ItemId'), 'Id');
  if (id === undefined || id.length === 0) {
    throw new ScannerError('mailbox-request-failed', 'EWS response has no ItemId', {
      fields: { operation },
    });
  }
  return id;
}

/** A permanent failure for a response whose content does not match the schema. */
export function unexpectedShape(error: z.ZodError, operation: string): ScannerError {
  const paths = error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
  return new ScannerError(
    'mailbox-request-failed',
    `EWS response has an unexpected shape at ${paths}`,
    {
      fields: { operation },
    },
  );
}
