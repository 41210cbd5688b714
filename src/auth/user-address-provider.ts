import { ScannerError } from '../shared/errors.js';
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

/**
 * Returns a directory that asks the wired one on each lookup. The Graph client is then built at
 * the first lookup, and a failure to build it (a credential setting, say) fails that lookup
 * only, which the caller turns into a fallback to the sign-in address, instead of the whole API.
 * @throws ScannerError `config-invalid` from a lookup when no directory is wired.
 */
export function wiredUserAddressDirectory(): UserAddressDirectory {
  return {
    addressesOf: async (objectId) => {
      const directory = factory?.();
      if (directory === undefined) {
        throw new ScannerError('config-invalid', 'No user address directory is wired');
      }
      return directory.addressesOf(objectId);
    },
  };
}
