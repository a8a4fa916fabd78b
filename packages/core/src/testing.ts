/**
 * Test helpers for store authors: the `KeyStore` contract suite (needs vitest) and
 * record factories. Import from `@keyward/core/testing`.
 */
export { runKeyStoreContract, makeKeyRecord, makeRotationRecord, type ContractSubject } from './store-contract.js';
export { ManualClock } from './clock.js';
