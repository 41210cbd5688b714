import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import { create_NT_hashed_password } from 'httpntlm/ntlm.js';

/**
 * Negotiate flags of the challenge: Unicode, request target, NTLM, always sign, extended session
 * security, target info, 128-bit and 56-bit. With extended security and target info, clients
 * send an NTLMv2 response, which the simulator verifies.
 */
const CHALLENGE_FLAGS =
  0x00000001 |
  0x00000004 |
  0x00000200 |
  0x00008000 |
  0x00080000 |
  0x00800000 |
  0x20000000 |
  0x80000000;

/** Returns the type of an NTLM message in an Authorization header, or undefined. */
export function ntlmMessageType(
  header: string | undefined,
): { type: number; message: Buffer } | undefined {
  const match = /^NTLM ([A-Za-z0-9+/=]+)$/.exec(header?.trim() ?? '');
  if (match === null) {
    return undefined;
  }
  const message = Buffer.from(match[1] ?? '', 'base64');
  if (message.length < 12 || message.subarray(0, 8).toString('latin1') !== 'NTLMSSP\0') {
    return undefined;
  }
  return { type: message.readUInt32LE(8), message };
}

/** Builds a challenge (type 2) message with a fresh 8-byte server challenge. */
export function createChallenge(): { header: string; challenge: Buffer } {
  const challenge = randomBytes(8);
  // Target info holds only MsvAvEOL (AvId 0, length 0).
  const targetInfo = Buffer.alloc(4);
  const payloadOffset = 56;
  const message = Buffer.alloc(payloadOffset + targetInfo.length);
  message.write('NTLMSSP\0', 0, 'latin1');
  message.writeUInt32LE(2, 8);
  message.writeUInt16LE(0, 12);
  message.writeUInt16LE(0, 14);
  message.writeUInt32LE(payloadOffset, 16);
  message.writeUInt32LE(CHALLENGE_FLAGS >>> 0, 20);
  challenge.copy(message, 24);
  message.writeUInt16LE(targetInfo.length, 40);
  message.writeUInt16LE(targetInfo.length, 42);
  message.writeUInt32LE(payloadOffset, 44);
  targetInfo.copy(message, payloadOffset);
  return { header: `NTLM ${message.toString('base64')}`, challenge };
}

function field(message: Buffer, at: number): Buffer {
  const length = message.readUInt16LE(at);
  const offset = message.readUInt32LE(at + 4);
  if (offset + length > message.length) {
    throw new Error('NTLM field out of range');
  }
  return message.subarray(offset, offset + length);
}

/**
 * Verifies an authenticate (type 3) message against the challenge: the NTLMv2 proof must match
 * HMAC-MD5 over the challenge and the client blob, keyed with NTOWFv2 of the account's password.
 * @returns the user name and domain when the proof is valid, else undefined.
 */
export function verifyAuthenticate(
  message: Buffer,
  challenge: Buffer,
  passwordOf: (user: string) => string | undefined,
): { user: string; domain: string } | undefined {
  try {
    const ntResponse = field(message, 20);
    const domain = field(message, 28).toString('utf16le');
    const user = field(message, 36).toString('utf16le');
    const password = passwordOf(user);
    if (password === undefined || ntResponse.length <= 24) {
      return undefined;
    }
    const ntowf = createHmac('md5', create_NT_hashed_password(password))
      .update(Buffer.from(user.toUpperCase() + domain, 'utf16le'))
      .digest();
    const proof = ntResponse.subarray(0, 16);
    const blob = ntResponse.subarray(16);
    const expected = createHmac('md5', ntowf)
      .update(Buffer.concat([challenge, blob]))
      .digest();
    return timingSafeEqual(proof, expected) ? { user, domain } : undefined;
  } catch {
    return undefined;
  }
}
