import { type ConsoleQueries, ErrorCodes, hasConsoleQueries, type KeyStore, type Keyward, KeywardError } from '@keyward/core';

/** The keyward store with the console's paged queries, or a clear error at construction. */
export type ConsoleStore = KeyStore & ConsoleQueries;

export function consoleStore(keyward: Keyward): ConsoleStore {
  const { store } = keyward;
  if (!hasConsoleQueries(store)) {
    throw new KeywardError(
      ErrorCodes.INVALID_OPTION,
      '@keyward/admin: option "keyward" has a store without the console queries (listClients, addUsage, …); every store keyward ships has them',
      { option: 'keyward' },
    );
  }
  return store;
}
