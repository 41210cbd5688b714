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
 * Returns a directory that calls the wired one on each lookup. The Graph client is then built at
 * the first lookup. A failure to build it (an invalid credential setting, say) fails that lookup
 * only, and `withOwnAddresses` turns it into a fallback to the sign-in address. The quarantine
 * API keeps working.
 * @throws ScannerError `config-invalid` from a lookup when no directory is wired.
 */
export function wiredUserAddressDirectory(): UserAddressDirectory {
  return {
    addressesOf: async (objectId) => {
      const directory = factory?.();
      if (directory === undefined) {
        throw new ScannerError(
          'config-invalid',
          'No user address directory is wired; call provideUserAddressDirectory at start-up',
        );
      }
      return directory.addressesOf(objectId);
    },
  };
}
