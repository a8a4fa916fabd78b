import { MemoryStore } from './memory-store.js';
import { runKeyStoreContract } from './store-contract.js';

runKeyStoreContract('MemoryStore', async () => ({ store: new MemoryStore() }));
