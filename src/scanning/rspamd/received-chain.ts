import ipaddr from 'ipaddr.js';

import type { HeaderField } from '../types.js';

/** The SMTP client that handed the message to the receiving organization, as far as headers show. */
export interface ConnectingClient {
  /** IP address of the client, a public unicast address. */
  ip?: string;
  /** Name the client gave in HELO or EHLO. */
  helo?: string;
}

/** Received fields read at most; a message with more is looping or forged below this point. */
const MAX_RECEIVED_FIELDS = 50;

/** Longest HELO name kept: a DNS name is at most 253 characters. */
const MAX_HELO_LENGTH = 253;

/**
 * Finds the connecting client of a delivered message. Exchange Online and many MTAs record the
 * client in Received-SPF (RFC 7208 section 9.1: `client-ip=` and `helo=`), which is preferred.
 * Otherwise the Received fields are read from the top (the newest hop) down, and the first `from`
 * clause with a public unicast address is taken: hops inside the organization use private
 * addresses, so the first public one is normally the external sender.
 *
 * NOTE: Exchange Online's internal hops can carry public IPv6 addresses, so without Received-SPF
 * the address found may belong to Microsoft rather than to the sender.
 */
export function findConnectingClient(headers: readonly HeaderField[]): ConnectingClient {
  const spf = headers.find((field) => field.key === 'received-spf');
  const fromSpf = spf ? fromReceivedSpf(spf.value) : {};
  if (fromSpf.ip) {
    return fromSpf;
  }
  const received = headers.filter((field) => field.key === 'received').slice(0, MAX_RECEIVED_FIELDS);
  for (const field of received) {
    const client = fromReceived(field.value);
    if (client.ip) {
      return client;
    }
  }
  return {};
}

function fromReceivedSpf(value: string): ConnectingClient {
  const ip = /\bclient-ip=([0-9A-Fa-f:.]{2,45})/.exec(value)?.[1];
  const helo = /\bhelo=([^\s;]{1,253})/.exec(value)?.[1];
  return toClient(ip, helo);
}

/**
 * Reads `from HELO (RDNS [IP])` at the start of a Received field (RFC 5321 section 4.4). The
 * address may also be the HELO itself as an address literal (`from [192.0.2.1]`).
 */
function fromReceived(value: string): ConnectingClient {
  const match = /^\s*from\s+(\S{1,300})(?:\s+\(([^)]{0,500})\))?/i.exec(value);
  if (!match) {
    return {};
  }
  const helo = match[1] ?? '';
  const comment = match[2] ?? '';
  const literal = /\[(?:IPv6:)?([0-9A-Fa-f:.]{2,45})\]/i.exec(`${comment} ${helo}`)?.[1];
  return toClient(literal, helo.startsWith('[') ? undefined : helo);
}

function toClient(ip: string | undefined, helo: string | undefined): ConnectingClient {
  if (!ip || !isPublicUnicast(ip)) {
    return {};
  }
  const client: ConnectingClient = { ip: ipaddr.process(ip).toString() };
  if (helo && helo.length <= MAX_HELO_LENGTH && /^[A-Za-z0-9._:[\]-]+$/.test(helo)) {
    client.helo = helo;
  }
  return client;
}

function isPublicUnicast(ip: string): boolean {
  if (!ipaddr.isValid(ip)) {
    return false;
  }
  // process() turns an IPv4-mapped IPv6 address into IPv4, so its range is judged as IPv4.
  return ipaddr.process(ip).range() === 'unicast';
}
