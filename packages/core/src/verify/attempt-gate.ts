import type { VerifyContext } from '../events.js';
import { limitedResult, UNAVAILABLE, type VerifyResult } from '../verify-result.js';

/**
 * The failed-attempt limiter as the verifier sees it (`verifyFast`'s `gate`). The
 * verifier asks it only for a hash this process does not know as a key: one it
 * would look up in the shared cache or store, or one it remembers as unknown. A key
 * in its LRU (even past `lru.maxAge` or from before a bus reset), a hash
 * invalidated lately, and a hash whose lookup is already in flight (or waiting for
 * its reservation, `GatedLookups`) are decided without it. So a key that verifies is never refused, and a flood of guesses
 * costs at most the budget in lookups: the attempt is reserved (counted) before
 * the lookup, and given back when the key turned out known.
 */
export interface AttemptGate {
  /**
   * Counts one attempt by `context`'s source, before any lookup: `0` when it is
   * within the budget, else the seconds to wait (the verifier then answers
   * `limited` and looks nothing up). Must not throw; a rejection counts as `0`.
   */
  reserve(context: VerifyContext | undefined): number | Promise<number>;
  /** Gives back a reservation: the key was valid or retired (not a guess), or the lookup failed. */
  release(context: VerifyContext | undefined): void;
}

/** Only an unknown key is a guess: valid and retired keys, and a failed lookup, give the reservation back. */
function keep(gate: AttemptGate, context: VerifyContext | undefined, result: VerifyResult): VerifyResult {
  if (result.valid || result.reason !== 'unknown') {
    try {
      gate.release(context);
    } catch {
      // The gate's own business (it logs); the answer stands.
    }
  }
  return result;
}

function reserve(gate: AttemptGate, context: VerifyContext | undefined): number | Promise<number> {
  try {
    const wait = gate.reserve(context);
    if (typeof wait === 'number') return wait;
    return Promise.resolve(wait).then(
      (w) => (typeof w === 'number' ? w : 0),
      () => 0,
    );
  } catch {
    return 0;
  }
}

/** `answer()` (the lookup, or the remembered "unknown") behind the gate: reserved first, refused without it when over budget. */
export function throughGate(
  gate: AttemptGate,
  context: VerifyContext | undefined,
  answer: () => VerifyResult | Promise<VerifyResult>,
): VerifyResult | Promise<VerifyResult> {
  const settle = (): VerifyResult | Promise<VerifyResult> => {
    const result = answer();
    return result instanceof Promise ? result.then((r) => keep(gate, context, r)) : keep(gate, context, result);
  };
  const wait = reserve(gate, context);
  if (typeof wait === 'number') return wait > 0 ? limitedResult(wait) : settle();
  return wait.then((w) => (w > 0 ? limitedResult(w) : settle()));
}

/**
 * The verifier's gated lookups in progress, per hash. With a gate that answers by
 * promise (Redis), a lookup starts only once its reservation is answered; until
 * then a second request for the same hash waits for the first instead of
 * reserving again, so a client sending one retired key many times at once does not
 * spend its address's budget. The waiter then decides on its own (`retry`: from
 * the LRU or the negative cache the first filled, or through the gate when the
 * first was refused), except after a failed lookup, which it shares.
 */
export class GatedLookups {
  private readonly pending = new Map<string, Promise<VerifyResult>>();

  run(
    keyHash: string,
    gate: AttemptGate,
    context: VerifyContext | undefined,
    answer: () => VerifyResult | Promise<VerifyResult>,
    retry: () => VerifyResult | Promise<VerifyResult>,
  ): VerifyResult | Promise<VerifyResult> {
    const first = this.pending.get(keyHash);
    if (first !== undefined) return first.then((result) => (result === UNAVAILABLE ? result : retry()));
    const result = throughGate(gate, context, answer);
    if (result instanceof Promise) {
      this.pending.set(keyHash, result);
      // Registered before any waiter's callback: the entry is gone when they retry.
      const done = () => {
        if (this.pending.get(keyHash) === result) this.pending.delete(keyHash);
      };
      result.then(done, done);
    }
    return result;
  }
}
