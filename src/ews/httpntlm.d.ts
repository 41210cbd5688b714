// Types for the NTLM message functions of the httpntlm package, which ships no declarations.
declare module 'httpntlm/ntlm.js' {
  /** A decoded NTLM challenge (type 2) message. */
  export interface Type2Message {
    serverChallenge: Buffer;
    negotiateFlags: number;
    targetInfo?: Buffer;
  }

  /** Options naming the account for the negotiate and authenticate messages. */
  export interface NtlmAccount {
    username?: string;
    password?: string;
    domain?: string;
    workstation?: string;
  }

  export function createType1Message(options: NtlmAccount): string;
  export function parseType2Message(
    header: string,
    callback: (error: Error) => void,
  ): Type2Message | null;
  export function createType3Message(type2: Type2Message, options: NtlmAccount): string;
  export function create_NT_hashed_password(password: string): Buffer;
}
