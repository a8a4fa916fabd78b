/** A new key on its way to its client. The only object that carries a plaintext key out of the engine. */
export interface KeyDelivery {
  readonly rotationId: string;
  readonly clientId: string;
  /** Id of the new key. */
  readonly keyId: string;
  /** The new plaintext key. Deliver it, never log it. */
  readonly key: string;
  readonly fingerprint: string;
  /** When the client's old key stops working. */
  readonly graceUntil: number;
  /** When the new key expires (`null`: never). */
  readonly expiresAt: number | null;
}

/**
 * What the scheduler's recovery asks a sink about a rotation whose outcome a crash
 * left unknown. No plaintext: the sink shows what it holds to `isNewKey`.
 */
export interface DeliveryCheck {
  readonly rotationId: string;
  readonly clientId: string;
  /** Id of the new key. */
  readonly keyId: string;
  readonly fingerprint: string;
  /**
   * `true` when `candidate` is this rotation's new key: hashed with the keyward's
   * hasher (pepper included) and compared in constant time. Never log `candidate`.
   */
  isNewKey(candidate: string): boolean;
}

/**
 * A sink's answer about a crashed delivery: `held` (the client may have the new
 * key), `absent` (certain it never reached the client), `unknown` (cannot tell).
 */
export type DeliveryStatus = 'held' | 'absent' | 'unknown';

/**
 * Pushes a rotated key to its client. `deliver` resolves once the key is safely
 * handed over (and only then may the rotation complete); it rejects when delivery
 * failed for good (after its own retries), and the scheduler then aborts the
 * rotation. A rejection must mean the client cannot have the key. Error messages
 * must not contain the key.
 */
export interface SecretSink {
  /** Short name for logs and audit rows, e.g. `webhook`, `file`. */
  readonly name: string;
  deliver(delivery: KeyDelivery): Promise<void>;
  /**
   * Optional: after a crash left a delivery's outcome unknown, says whether the
   * client may hold the new key. Answer `absent` only when the client surely never
   * got it: the rotation is then rolled back and its new key revoked. Without this
   * method (or on `unknown` or a rejection) the rotation stays open with both keys
   * valid until its grace ends, and is reported.
   */
  confirm?(check: DeliveryCheck): Promise<DeliveryStatus>;

  /**
   * Optional housekeeping at the start of every scheduler pass, e.g. `FileSink`
   * removing temporary files (plaintext keys) that a crash left behind. A rejection
   * is logged as a failed step; the pass goes on.
   */
  prepare?(): Promise<void>;
}

/** Waits `ms` milliseconds. Injected so tests never sleep. */
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Exponential backoff with full jitter (AWS architecture blog): a random delay in
 * `[0, min(max, base * 2^(attempt-1)))`. `attempt` counts from 1.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we strip
const CONTROL = /[\u0000-\u001f\u007f]+/g;

/**
 * Turns a delivery error into a short message that is safe for the audit trail:
 * every occurrence of the plaintext key is replaced, control characters dropped,
 * and the text cut to 300 characters.
 */
export function safeErrorMessage(error: unknown, key: string | undefined): string {
  let message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (key) message = message.split(key).join('[redacted]');
  message = message.replace(CONTROL, ' ').trim();
  return message.length > 300 ? `${message.slice(0, 297)}...` : message || 'delivery failed';
}
