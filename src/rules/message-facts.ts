import { fileTypeFromBuffer } from 'file-type';
import ipaddr from 'ipaddr.js';
import { addressParser } from 'postal-mime';
import { getDomain } from 'tldts';

import { parseAuthenticationResults } from '../scanning/antispam/authentication-results.js';
import type { ContentPart, HeaderField, MessageView } from '../scanning/types.js';
import type { ConditionField } from './rule-schema.js';

// NOTE: body conditions do not read text past this limit, so padding a body can hide text from
// them. The limit bounds the cost of many body rules on a message of many megabytes.
/** Maximum characters of one body that text conditions read. */
export const MAX_BODY_CHARS = 1024 * 1024;

/** Maximum characters of one header value that address parsing reads. */
const MAX_ADDRESS_HEADER_CHARS = 16 * 1024;

/** Maximum addresses read from one message's address fields. */
const MAX_ADDRESSES = 500;

/** Bytes handed to file-type; magic numbers sit in the first few kilobytes. */
const SNIFF_BYTES = 4096;

/** Facts about one attachment, lower case where text. */
export interface PartFacts {
  path: string;
  /** Path of the top-level attachment that contains this part (the part itself if not inside an archive). */
  attachmentPath: string;
  names: string[];
  extensions: string[];
  /** file-type's extension (`exe`, `zip`, `pdf`), `script` for a shebang file, or none. */
  trueTypes: string[];
  size: number;
  /** The part is an encrypted archive or an encrypted archive member. */
  encrypted: boolean;
  memberNames: string[];
  memberTypes: string[];
}

/** Engine results, filled in before the `results` point. */
export interface ResultFacts {
  /** Most severe category among antivirus findings, `clean` when there are none. */
  avCategory: string;
  spamScore?: number;
  phishingFindings: string[];
}

/** Facts about a message that conditions read, built once per message. Text is lower case. */
export interface MessageFacts {
  text: Partial<Record<ConditionField, string[]>>;
  headers: Map<string, string[]>;
  messageSize: number;
  attachmentCount: number;
  fromMismatch: boolean;
  received: Date;
  attachments: PartFacts[];
  /** Union of every attachment's values, for attachment conditions at the message level. */
  anyAttachment: PartFacts;
  results?: ResultFacts;
}

/** Costly facts to compute, chosen from the fields the compiled rule set reads. */
export interface FactNeeds {
  bodies: boolean;
  trueTypes: boolean;
}

/**
 * Builds the facts that rule conditions read. Bodies and true types cost the most, so they are
 * read only when `needs` requests them.
 */
export async function buildMessageFacts(
  view: MessageView,
  needs: FactNeeds,
): Promise<MessageFacts> {
  const headers = indexHeaders(view.headers);
  const from = parseAddresses(headers.get('from'));
  const envelope = parseAddresses(headers.get('return-path'));
  const recipients = ['to', 'cc', 'bcc'].flatMap((key) => parseAddresses(headers.get(key)));
  const auth = readAuthenticationResults(headers.get('authentication-results'));
  const attachments = await collectAttachments(
    view.parts.filter((part) => part.origin !== 'outside-parts'),
    needs.trueTypes,
  );

  const text: MessageFacts['text'] = {
    'sender.address': from.map((entry) => entry.address),
    'sender.domain': from.map((entry) => domainOf(entry.address)),
    'envelope.sender': envelope.map((entry) => entry.address),
    recipient: recipients.slice(0, MAX_ADDRESSES).map((entry) => entry.address),
    'from.displayName': from.map((entry) => entry.name).filter((name) => name.length > 0),
    subject: [view.subject.toLowerCase()],
    body: needs.bodies
      ? view.bodies.map((body) => body.text.slice(0, MAX_BODY_CHARS).toLowerCase())
      : [],
    'auth.spf': auth.get('spf') ?? [],
    'auth.dkim': auth.get('dkim') ?? [],
    'auth.dmarc': auth.get('dmarc') ?? [],
    'sender.ip': findSenderIp(headers.get('received') ?? []),
    mailbox: view.context.mailbox ? [view.context.mailbox.toLowerCase()] : [],
    folder: view.context.folder ? [view.context.folder.toLowerCase()] : [],
  };
  return {
    text,
    headers,
    messageSize: view.raw.byteLength,
    attachmentCount: attachments.filter((part) => part.path === part.attachmentPath).length,
    fromMismatch: isFromMismatch(
      text['sender.domain'] ?? [],
      envelope.map((entry) => domainOf(entry.address)),
    ),
    received: receivedTime(view, headers),
    attachments,
    anyAttachment: mergeAttachments(attachments),
  };
}

function indexHeaders(fields: readonly HeaderField[]): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  for (const field of fields) {
    const values = headers.get(field.key) ?? [];
    values.push(field.value.toLowerCase());
    headers.set(field.key, values);
  }
  return headers;
}

function parseAddresses(values: string[] | undefined): { name: string; address: string }[] {
  const parsed: { name: string; address: string }[] = [];
  for (const value of values ?? []) {
    for (const entry of addressParser(value.slice(0, MAX_ADDRESS_HEADER_CHARS), {
      flatten: true,
    })) {
      const address = (entry.address ?? '').trim().replace(/^<|>$/g, '');
      parsed.push({ name: (entry.name ?? '').trim(), address });
      if (parsed.length >= MAX_ADDRESSES) {
        return parsed;
      }
    }
  }
  return parsed;
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1);
}

/**
 * Tests whether the envelope sender (Return-Path) and the header From are on different registrable
 * domains. Returns false when either is missing, because there is nothing to compare.
 */
function isFromMismatch(fromDomains: string[], envelopeDomains: string[]): boolean {
  if (fromDomains.length === 0 || envelopeDomains.length === 0) {
    return false;
  }
  const registrable = (domain: string) => getDomain(domain) ?? domain;
  const envelope = new Set(envelopeDomains.map(registrable));
  return fromDomains.some((domain) => !envelope.has(registrable(domain)));
}

/** Results of the topmost Authentication-Results field, the one the receiving server added. */
function readAuthenticationResults(values: string[] | undefined): Map<string, string[]> {
  const results = new Map<string, string[]>();
  const topmost = values?.[0];
  if (topmost === undefined) {
    return results;
  }
  for (const result of parseAuthenticationResults(topmost).results) {
    results.set(result.method, [...(results.get(result.method) ?? []), result.result]);
  }
  return results;
}

/** ipaddr.js range names of addresses that never identify a host on the internet. */
const NON_PUBLIC_RANGES: ReadonlySet<string> = new Set([
  'unspecified',
  'loopback',
  'private',
  'linkLocal',
  'uniqueLocal',
  'carrierGradeNat',
  'broadcast',
]);

const BRACKETED_IP = /\[(?:ipv6:)?([0-9a-f.:]{3,45})\]/g;

/**
 * Finds the first public IP address in the Received chain, read from the top. Hops inside the
 * organization usually carry private addresses, so the first public one is the host that handed
 * the message to it. Received fields can be forged below the organization's own servers.
 */
function findSenderIp(received: string[]): string[] {
  for (const value of received.slice(0, 50)) {
    for (const match of value.slice(0, 4096).matchAll(BRACKETED_IP)) {
      const candidate = match[1] ?? '';
      if (!ipaddr.isValid(candidate)) {
        continue;
      }
      const address = ipaddr.process(candidate);
      if (!NON_PUBLIC_RANGES.has(address.range())) {
        return [address.toString()];
      }
    }
  }
  return [];
}

/** Receipt time from the caller, else the Date header, else now. */
function receivedTime(view: MessageView, headers: Map<string, string[]>): Date {
  if (view.context.receivedAt) {
    return view.context.receivedAt;
  }
  const dated = Date.parse(headers.get('date')?.[0] ?? '');
  return Number.isNaN(dated) ? new Date() : new Date(dated);
}

/** Tests whether a part is an attachment: it has a file name or that disposition, or came out of a container. */
function isAttachment(part: ContentPart): boolean {
  return part.filename !== undefined || part.disposition === 'attachment' || part.origin !== 'mime';
}

async function collectAttachments(
  parts: readonly ContentPart[],
  sniff: boolean,
): Promise<PartFacts[]> {
  const attachments: PartFacts[] = [];
  for (const part of parts) {
    if (!isAttachment(part)) {
      continue;
    }
    const names = [part.filename, part.rawFilename]
      .filter((name): name is string => name !== undefined && name.length > 0)
      .map((name) => name.toLowerCase());
    const trueType = sniff ? await sniffTrueType(part.content) : undefined;
    attachments.push({
      path: part.path,
      attachmentPath: part.path.split('!')[0] ?? part.path,
      names,
      extensions: names.map(extensionOf).filter((extension) => extension.length > 0),
      trueTypes: trueType ? [trueType] : [],
      size: part.content.byteLength,
      encrypted: part.archive?.encrypted === true || part.encrypted === true,
      memberNames: [],
      memberTypes: [],
    });
  }
  linkArchiveMembers(attachments);
  return attachments;
}

/** Gives each archive the names and types of the members below it. */
function linkArchiveMembers(attachments: PartFacts[]): void {
  const byPath = new Map(attachments.map((part) => [part.path, part]));
  for (const member of attachments) {
    let separator = member.path.lastIndexOf('!');
    while (separator > 0) {
      const archive = byPath.get(member.path.slice(0, separator));
      if (archive) {
        archive.memberNames.push(...member.names);
        archive.memberTypes.push(...member.trueTypes, ...member.extensions);
      }
      separator = member.path.lastIndexOf('!', separator - 1);
    }
  }
}

/** Returns the text after the last dot, without the trailing dots and spaces that Windows ignores. */
function extensionOf(name: string): string {
  const trimmed = name.replace(/[. ]+$/, '');
  const dot = trimmed.lastIndexOf('.');
  return dot < 0 ? '' : trimmed.slice(dot + 1);
}

async function sniffTrueType(content: Uint8Array): Promise<string | undefined> {
  if (content.length >= 3 && content[0] === 0x23 && content[1] === 0x21) {
    return 'script';
  }
  try {
    return (await fileTypeFromBuffer(content.subarray(0, SNIFF_BYTES)))?.ext;
  } catch {
    // A detector that fails on hostile bytes counts as an unknown type.
    return undefined;
  }
}

function mergeAttachments(attachments: PartFacts[]): PartFacts {
  const merged: PartFacts = {
    path: '',
    attachmentPath: '',
    names: [],
    extensions: [],
    trueTypes: [],
    size: 0,
    encrypted: attachments.some((part) => part.encrypted),
    memberNames: [],
    memberTypes: [],
  };
  for (const part of attachments) {
    merged.names.push(...part.names);
    merged.extensions.push(...part.extensions);
    merged.trueTypes.push(...part.trueTypes);
  }
  // Archive members are attachments too, so their names are already in `names`.
  merged.memberNames = attachments
    .filter((part) => part.path.includes('!'))
    .flatMap((part) => part.names);
  merged.memberTypes = attachments
    .filter((part) => part.path.includes('!'))
    .flatMap((part) => [...part.trueTypes, ...part.extensions]);
  return merged;
}
