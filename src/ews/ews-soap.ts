import {
  attribute,
  buildXml,
  child,
  children,
  MESSAGES_NS,
  parseXml,
  SOAP_NS,
  text,
  TYPES_NS,
  type XmlNode,
} from './ews-xml.js';

/** The schema version every request asks for; Exchange 2013 through 2019 accept it. */
export const REQUEST_SERVER_VERSION = 'Exchange2013';

/** A SOAP fault, as Exchange sends for throttling and for impersonation failures. */
export interface SoapFault {
  kind: 'fault';
  /** The EWS response code from the fault's detail, else the faultcode without its prefix. */
  responseCode: string;
  /** BackOffMilliseconds from the detail's MessageXml, when Exchange sent one. */
  backOffMs?: number;
}

/** One response message of a SOAP body: its class, code and the element itself. */
export interface ResponseMessage {
  responseClass: string;
  responseCode: string;
  backOffMs?: number;
  node: XmlNode;
}

/** A SOAP body with the operation's response messages in request order. */
export interface SoapBody {
  kind: 'body';
  messages: ResponseMessage[];
}

/**
 * Wraps an operation element in a SOAP envelope with RequestServerVersion and, when a mailbox is
 * named, ExchangeImpersonation by its SMTP address. Values are escaped by the XML builder.
 */
export function buildEnvelope(operation: XmlNode, mailbox?: string): string {
  const header: XmlNode = {
    't:RequestServerVersion': { '@_Version': REQUEST_SERVER_VERSION },
  };
  if (mailbox !== undefined) {
    header['t:ExchangeImpersonation'] = {
      't:ConnectingSID': { 't:SmtpAddress': mailbox },
    };
  }
  const envelope: XmlNode = {
    'soap:Envelope': {
      '@_xmlns:soap': SOAP_NS,
      '@_xmlns:t': TYPES_NS,
      '@_xmlns:m': MESSAGES_NS,
      'soap:Header': header,
      'soap:Body': operation,
    },
  };
  return `<?xml version="1.0" encoding="utf-8"?>${buildXml(envelope)}`;
}

/**
 * Parses a SOAP response into a fault or the operation's response messages.
 * @throws XmlSyntaxError when the document is not well-formed XML (a truncated body).
 * @throws Error when the document is XML but not a SOAP envelope with a body.
 */
export function readSoapResponse(document: string): SoapFault | SoapBody {
  const body = child(child(parseXml(document), 'Envelope'), 'Body');
  if (body === undefined) {
    throw new Error('response is not a SOAP envelope with a body');
  }
  const fault = child(body, 'Fault');
  if (fault !== undefined) {
    const detail = child(fault, 'detail');
    const faultCode = (text(fault, 'faultcode') ?? '').replace(/^.*:/, '');
    const result: SoapFault = {
      kind: 'fault',
      responseCode: text(detail, 'ResponseCode') ?? faultCode,
    };
    const backOffMs = readBackOff(child(detail, 'MessageXml'));
    if (backOffMs !== undefined) {
      result.backOffMs = backOffMs;
    }
    return result;
  }
  const responseName = Object.keys(body).find((key) => key.endsWith('Response'));
  const response = responseName === undefined ? undefined : child(body, responseName);
  const list = child(response, 'ResponseMessages');
  if (list === undefined) {
    throw new Error('SOAP body has no ResponseMessages');
  }
  const messages: ResponseMessage[] = [];
  for (const [name, value] of Object.entries(list)) {
    if (!name.endsWith('ResponseMessage')) {
      continue;
    }
    for (const node of children({ [name]: value }, name)) {
      const message: ResponseMessage = {
        responseClass: attribute(node, 'ResponseClass') ?? 'Error',
        responseCode: text(node, 'ResponseCode') ?? 'NoError',
        node,
      };
      const backOffMs = readBackOff(child(node, 'MessageXml'));
      if (backOffMs !== undefined) {
        message.backOffMs = backOffMs;
      }
      messages.push(message);
    }
  }
  return { kind: 'body', messages };
}

function readBackOff(messageXml: XmlNode | undefined): number | undefined {
  for (const value of children(messageXml, 'Value')) {
    if (attribute(value, 'Name') === 'BackOffMilliseconds') {
      const digits = text(value) ?? '';
      return /^\d{1,10}$/.test(digits) ? Number(digits) : undefined;
    }
  }
  return undefined;
}
