/**
 * Test helpers for store authors: the `KeyStore` contract suite (needs vitest) and
 * record factories. Import from `@keyward/core/testing`.
 */

export { ManualClock } from './clock.js';
export { type ContractSubject, makeKeyRecord, makeRotationRecord, runKeyStoreContract } from './store-contract.js';
export { expectDeeplyFrozen } from './verify/immutable-result-contract.js';
