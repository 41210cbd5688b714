import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

/** Namespace of the EWS message elements (`m:`). */
export const MESSAGES_NS = 'http://schemas.microsoft.com/exchange/services/2006/messages';
/** Namespace of the EWS type elements (`t:`). */
export const TYPES_NS = 'http://schemas.microsoft.com/exchange/services/2006/types';
/** SOAP 1.1 envelope namespace. */
export const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';

/** A node of an XML tree in fast-xml-parser's object form: attributes are keys starting `@_`. */
export type XmlNode = { [key: string]: XmlValue };
/** A value in that tree: text, a child node, or repeated children. */
export type XmlValue = string | number | boolean | XmlNode | XmlValue[] | undefined;

/**
 * Element names that may repeat, so that the parser returns an array even for a single one.
 * Names are local names, because the parser drops namespace prefixes.
 */
const REPEATED_ELEMENTS = new Set([
  'Message',
  'Item',
  'MeetingRequest',
  'MeetingResponse',
  'MeetingCancellation',
  'PostItem',
  'Folder',
  'SearchFolder',
  'Create',
  'Update',
  'Delete',
  'ReadFlagChange',
  'Value',
  'String',
  'ExtendedProperty',
  'ItemId',
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  // Keep every value a string: ids and sync states must never be read as numbers.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Only the five predefined XML entities and character references are decoded. A DOCTYPE is
  // rejected before parsing, so no document can declare entities of its own (no XXE, no
  // entity expansion bomb).
  processEntities: true,
  htmlEntities: false,
  isArray: (name, jpath) => {
    const local = name.includes(':') ? name.slice(name.indexOf(':') + 1) : name;
    // `Items` under RootFolder contains the repeated item elements; ItemId under an item is single.
    if (local === 'ItemId') {
      return /(ResponseMessage|Delete)\.ItemId$/.test(String(jpath));
    }
    return REPEATED_ELEMENTS.has(local) || local.endsWith('ResponseMessage');
  },
});

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  // Escapes &, <, >, " and ' in text and attribute values, so that untrusted values (ids,
  // category names, subjects) cannot change the document's structure.
  processEntities: true,
  suppressEmptyNode: true,
});

/** Thrown by parseXml for a document that is not well-formed or declares a DOCTYPE. */
export class XmlSyntaxError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'XmlSyntaxError';
  }
}

/**
 * Parses an XML document into fast-xml-parser's object form, with namespace prefixes removed.
 * @throws XmlSyntaxError for a truncated or otherwise malformed document, or one with a DOCTYPE.
 */
export function parseXml(text: string): XmlNode {
  if (/<!DOCTYPE/i.test(text)) {
    throw new XmlSyntaxError('XML document declares a DOCTYPE');
  }
  const valid = validateXml(text);
  if (valid !== true) {
    throw new XmlSyntaxError(`XML document is not well-formed: ${valid}`);
  }
  try {
    return parser.parse(text) as XmlNode;
  } catch (error) {
    throw new XmlSyntaxError('XML document could not be parsed', { cause: error });
  }
}

/** Serializes a tree built of XmlNode objects; text and attribute values are escaped. */
export function buildXml(tree: XmlNode): string {
  return builder.build(tree) as string;
}

/** Returns the child node, or undefined when the value is missing or not an element. */
export function child(node: XmlValue, name: string): XmlNode | undefined {
  if (node === undefined || typeof node !== 'object' || Array.isArray(node)) {
    return undefined;
  }
  const value = node[name];
  if (Array.isArray(value)) {
    const first = value[0];
    return first !== undefined && typeof first === 'object' && !Array.isArray(first)
      ? first
      : undefined;
  }
  return value !== undefined && typeof value === 'object' ? value : undefined;
}

/** Returns the children with this name as an array (empty when missing). */
export function children(node: XmlValue, name: string): XmlNode[] {
  if (node === undefined || typeof node !== 'object' || Array.isArray(node)) {
    return [];
  }
  const value = node[name];
  const list = toList(value);
  return list.filter(
    (item): item is XmlNode => item !== null && typeof item === 'object' && !Array.isArray(item),
  );
}

/** Returns an element's text: a plain value, or `#text` of an element with attributes. */
export function text(node: XmlValue, name?: string): string | undefined {
  const value = name === undefined ? node : isNode(node) ? node[name] : undefined;
  const single = Array.isArray(value) ? value[0] : value;
  if (typeof single === 'string' || typeof single === 'number' || typeof single === 'boolean') {
    return String(single);
  }
  if (isNode(single)) {
    const inner = single['#text'];
    return inner === undefined ? '' : String(inner);
  }
  return undefined;
}

/** Returns the texts of the repeated children with this name (empty when missing). */
export function texts(node: XmlValue, name: string): string[] {
  if (!isNode(node)) {
    return [];
  }
  const value = node[name];
  const list = toList(value);
  return list.map((item) => text(item) ?? '');
}

/** Returns an attribute's value. */
export function attribute(node: XmlValue, name: string): string | undefined {
  if (!isNode(node)) {
    return undefined;
  }
  const value = node[`@_${name}`];
  return value === undefined ? undefined : String(value);
}

function isNode(value: XmlValue): value is XmlNode {
  return value !== undefined && typeof value === 'object' && !Array.isArray(value);
}

/** Returns the validator's verdict as true or a short reason, never the document's text. */
function validateXml(document: string): true | string {
  const result = XMLValidator.validate(document);
  if (result === true) {
    return true;
  }
  return `${result.err.code} at line ${result.err.line}`;
}

function toList(value: XmlValue): XmlValue[] {
  if (Array.isArray(value)) {
    return value;
  }
  return value === undefined ? [] : [value];
}
