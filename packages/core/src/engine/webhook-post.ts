import { type Duration, parseDuration } from '../duration.js';
import { ErrorCodes } from '../error-codes.js';
import { invalidOption as invalid, KeywardError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import { backoffDelay, realSleep, type Sleep } from './secret-sink.js';
import { SIGNATURE_HEADER, signatureHeader } from './webhook-signature.js';

/** Options shared by the webhook secret sink and the webhook alert sink. */
export interface SignedWebhookOptions {
  /** Where to POST. `https:`; plain `http:` only to a loopback host unless `allowHttp` is set. */
  url: string | URL;
  /** HMAC-SHA256 secret shared with the receiver (at least 16 characters). */
  secret: string;
  /** Allow `http:` to a non-loopback host (the key would travel in clear text). Default `false`. */
  allowHttp?: boolean;
  /** Tries in total, the first included. Default `5`. */
  attempts?: number;
  /** First backoff ceiling; doubles per retry (full jitter). Default `500ms`. */
  baseDelay?: Duration;
  /** Largest wait between tries (also caps `Retry-After`). Default `30s`. */
  maxDelay?: Duration;
  /** Per-request timeout (`AbortSignal.timeout`). Default `10s`. */
  timeout?: Duration;
  /** Extra request headers (e.g. an authorization token for a gateway). */
  headers?: Record<string, string>;
  /** A pino logger for retries (the URL is logged without its query; bodies never). Default: silent. */
  logger?: Logger;
  /** Waits between retries. Default: `setTimeout`. Inject to test without waiting. */
  sleep?: Sleep;
  /** Random source in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
  /** The fetch implementation. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Wall clock for the signature timestamp, in ms. Default `Date.now`. */
  now?: () => number;
}

export interface SignedWebhookConfig {
  readonly url: URL;
  /** Origin and path only, for logs and errors (a query may hold a token). */
  readonly safeUrl: string;
  readonly secret: string;
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly logger: Logger;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly fetch: typeof fetch;
  readonly now: () => number;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function isFn(value: unknown): boolean {
  return typeof value === 'function';
}

/** Validates webhook options (`what` names the component in errors, e.g. `WebhookSink`). Never mutates them. */
export function resolveWebhookOptions(options: SignedWebhookOptions, what: string): SignedWebhookConfig {
  if (typeof options !== 'object' || options === null) throw invalid(`${what}.options`, options, 'must be an object');
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw invalid(`${what}.url`, typeof options.url === 'string' ? '(unparseable URL)' : options.url, 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(`${what}.url`, url.protocol, 'must use https: (or http:)');
  const loopback = LOOPBACK.has(url.hostname) || url.hostname.startsWith('127.');
  if (url.protocol === 'http:' && !loopback && options.allowHttp !== true) {
    throw invalid(`${what}.url`, url.host, 'must use https: (plain http: only to a loopback host, or set allowHttp: true)');
  }
  if (url.username || url.password) throw invalid(`${what}.url`, '(URL with credentials)', 'must not embed credentials; use headers');
  const { secret } = options;
  if (typeof secret !== 'string' || secret.length < 16) {
    throw invalid(
      `${what}.secret`,
      typeof secret === 'string' ? '(hidden, too short)' : secret,
      'must be a string of at least 16 characters',
    );
  }
  const attempts = options.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 20) throw invalid(`${what}.attempts`, attempts, 'must be an integer 1-20');
  const headers = options.headers ?? {};
  if (typeof headers !== 'object' || headers === null || !Object.values(headers).every((v) => typeof v === 'string')) {
    throw invalid(`${what}.headers`, headers, 'must be an object of string values');
  }
  const logger = options.logger ?? silentLogger;
  if (typeof logger !== 'object' || !isFn((logger as Logger).warn)) throw invalid(`${what}.logger`, logger, 'must be a pino-style logger');
  for (const name of ['sleep', 'random', 'fetch', 'now'] as const) {
    if (options[name] !== undefined && !isFn(options[name])) throw invalid(`${what}.${name}`, options[name], 'must be a function');
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (!isFn(fetchImpl)) throw invalid(`${what}.fetch`, fetchImpl, 'must be a function (no global fetch in this runtime)');
  const timeoutMs = parseDuration(options.timeout ?? '10s', `${what}.timeout`);
  if (timeoutMs < 1) throw invalid(`${what}.timeout`, options.timeout, 'must be more than 0');
  return {
    url,
    safeUrl: `${url.origin}${url.pathname}`,
    secret,
    attempts,
    baseDelayMs: parseDuration(options.baseDelay ?? '500ms', `${what}.baseDelay`),
    maxDelayMs: parseDuration(options.maxDelay ?? '30s', `${what}.maxDelay`),
    timeoutMs,
    headers: { ...headers },
    logger,
    sleep: options.sleep ?? realSleep,
    random: options.random ?? Math.random,
    fetch: fetchImpl,
    now: options.now ?? Date.now,
  };
}

/** Statuses worth another try: server errors, request timeout, rate limited. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

function retryAfterMs(value: string | null, maxMs: number): number | undefined {
  if (value === null) return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(seconds) ? Math.min(maxMs, Math.max(0, seconds)) : undefined;
}

function networkProblem(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out';
    const code = (error.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? `network error ${code}` : `network error (${error.name})`;
  }
  return 'network error';
}

/**
 * POSTs `body` (JSON) signed with HMAC-SHA256, retrying 5xx/408/429 and network
 * errors with exponential backoff and full jitter (honouring `Retry-After`), and
 * never retrying any other 4xx. Redirects are not followed (the body may hold a
 * key). Rejects with a `KEYWARD_UNAVAILABLE` error naming the status, never the body.
 */
export async function postSignedJson(config: SignedWebhookConfig, body: string, idempotencyKey: string, what: string): Promise<void> {
  let last = '';
  for (let attempt = 1; attempt <= config.attempts; attempt++) {
    let wait: number | undefined;
    try {
      const response = await config.fetch(config.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(config.timeoutMs),
        headers: {
          ...config.headers,
          'content-type': 'application/json',
          'user-agent': 'keyward-webhook/1',
          'idempotency-key': idempotencyKey,
          [SIGNATURE_HEADER.toLowerCase()]: signatureHeader(config.secret, body, config.now()),
        },
        body,
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return;
      last = `HTTP ${response.status}`;
      if (!isRetryableStatus(response.status)) {
        throw new KeywardError(ErrorCodes.UNAVAILABLE, `${what}: ${config.safeUrl} refused the delivery with ${last} (not retried)`, {
          status: response.status,
          attempts: attempt,
        });
      }
      wait = retryAfterMs(response.headers.get('retry-after'), config.maxDelayMs);
    } catch (error) {
      if (error instanceof KeywardError) throw error;
      last = networkProblem(error);
    }
    if (attempt === config.attempts) break;
    const delay = wait ?? backoffDelay(attempt, config.baseDelayMs, config.maxDelayMs, config.random);
    config.logger.warn({ url: config.safeUrl, attempt, problem: last, retryInMs: delay }, `keyward: ${what} failed; retrying`);
    await config.sleep(delay);
  }
  throw new KeywardError(ErrorCodes.UNAVAILABLE, `${what}: ${config.safeUrl} failed after ${config.attempts} attempts (last: ${last})`, {
    attempts: config.attempts,
  });
}
