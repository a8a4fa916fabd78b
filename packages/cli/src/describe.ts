/** A connection URL with its password masked, for messages: never print a secret (shared with the examples). */
export { maskUrl as describeValue } from '@keyward/env';
