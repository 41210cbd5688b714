import type { UserAddressDirectory } from './user-addresses.js';

/** Returns the directory of user addresses, or undefined when none is configured. */
export type UserAddressDirectoryFactory = () => UserAddressDirectory | undefined;

let factory: UserAddressDirectoryFactory | undefined;

/**
 * Wires in the directory that lists a user's aliases (the Graph client, in src/app/wiring.ts).
 * Call it before the first request; without it, users own only their sign-in address.
 */
export function provideUserAddressDirectory(next: UserAddressDirectoryFactory | undefined): void {
  factory = next;
}

/** Returns the wired directory, or undefined when none is wired or Graph is not configured. */
export function userAddressDirectory(): UserAddressDirectory | undefined {
  return factory?.();
}
