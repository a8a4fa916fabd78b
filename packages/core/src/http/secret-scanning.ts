import { createHash, verify } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SecretSink } from '../engine/secret-sink.js';
import { invalidOption } from '../errors.js';
import type { Keyward } from '../keyward.js';
import { GITHUB_SECRET_SCANNING_KEYS_URL, GitHubPublicKeys } from '../leak/github-public-keys.js';
import type { LeakPolicy, LeakResult } from '../leak/report-leak.js';
import { errorFields } from '../logger.js';
import { type AttemptLimiter, MemoryAttemptLimiter } from './attempt-limiter.js';

export interface SecretScanningOptions {
  keyward: Keyward;
  /** Where the signing keys are published. Default: GitHub's `meta/public_keys/secret_scanning`. */
  publicKeysUrl?: string;
  /** `revoke` (default) or `rotate` (needs `sink`): see `reportLeak`. */
  policy?: LeakPolicy;
  sink?: SecretSink;
  /** Actor in the audit trail. Default `secret-scanning:github`. */
  actor?: string;
  /** Failed signatures per source before 429, like failed authentications. Default: 10 a minute, in memory. */
  limiter?: AttemptLimiter | false;
  /** For tests: the `fetch` used for the key document. */
  fetch?: typeof fetch;
}

export interface SecretScanningRequest {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The body exactly as received: the signature covers these bytes. */
  readonly rawBody: Uint8Array;
  /** The client address, for the rate limit. */
  readonly source?: string | undefined;
}

export interface SecretScanningResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A body larger than this is refused (413) before anything else. */
export const MAX_REPORT_BYTES = 1024 * 1024;
const MAX_TOKENS = 1000;

function one(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.length === 1 ? value[0] : undefined;
}

function answer(status: number, body: unknown, extra: Record<string, string> = {}): SecretScanningResponse {
  return { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...extra }, body: JSON.stringify(body) };
}

const problem = (status: number, code: string, message: string, extra?: Record<string, string>) =>
  answer(status, { error: code, message }, extra);

/**
 * The secret-scanning endpoint (issue 15), framework-free: GitHub's partner format.
 * 1. The raw body is checked before any parsing: at most 1 MiB (413); the signature
 *    (`Github-Public-Key-Signature`, ECDSA P-256 / SHA-256 over the raw body, base64
 *    DER) must verify with the key named by `Github-Public-Key-Identifier` from the
 *    published key document. A missing header, an unknown key id or a bad signature is
 *    401 and changes nothing (and counts against the source's limit: 429 beyond it); a
 *    key document that cannot be fetched is 503.
 * 2. The body must be a JSON array (400 otherwise) of at most 1,000 `{ token, type, url,
 *    source }` objects (400).
 * 3. The whole report goes through `keyward.reportLeaks` (each token with the URL it was
 *    found at): revoked (or rotated) if it is one of ours and still accepted, audited
 *    either way.
 * 4. The answer lists each token as `{ token_hash, token_type, label }`, `label`
 *    `true_positive` or `false_positive`. `token_hash` (SHA-256 hex of the token) is
 *    sent, never `token_raw`: the report is answered without echoing the secret back.
 */
export class SecretScanningEndpoint {
  private readonly keys: GitHubPublicKeys;
  private readonly limiter: AttemptLimiter | undefined;
  private readonly actor: string;

  constructor(private readonly options: SecretScanningOptions) {
    // Checked here, not per report: a misconfiguration must fail at start, not answer 503 to every report.
    if (typeof options !== 'object' || options === null) throw invalidOption('secretScanning.options', options, 'must be an object');
    const { keyward } = options;
    if (typeof keyward?.reportLeaks !== 'function') throw invalidOption('secretScanning.keyward', keyward, 'must be a Keyward instance');
    if (options.publicKeysUrl !== undefined && !/^https?:\/\//.test(String(options.publicKeysUrl)))
      throw invalidOption('secretScanning.publicKeysUrl', options.publicKeysUrl, 'must be an http(s) URL');
    if (options.policy !== undefined && options.policy !== 'revoke' && options.policy !== 'rotate')
      throw invalidOption('secretScanning.policy', options.policy, 'must be "revoke" or "rotate"');
    if (options.policy === 'rotate' && typeof options.sink?.deliver !== 'function')
      throw invalidOption('secretScanning.sink', options.sink, 'is required with policy "rotate" (a SecretSink to deliver the successor)');
    this.keys = new GitHubPublicKeys(options.publicKeysUrl ?? GITHUB_SECRET_SCANNING_KEYS_URL, options.fetch ?? fetch, () =>
      keyward.config.clock.now(),
    );
    this.limiter = options.limiter === false ? undefined : (options.limiter ?? new MemoryAttemptLimiter({ clock: keyward.config.clock }));
    this.actor = options.actor ?? 'secret-scanning:github';
  }

  async handle(request: SecretScanningRequest): Promise<SecretScanningResponse> {
    const { keyward } = this.options;
    const source = request.source ?? 'unknown';
    if (request.rawBody.byteLength > MAX_REPORT_BYTES) return problem(413, 'payload_too_large', 'A report is at most 1 MiB.');
    const wait = this.limiter ? await this.limiter.check(source) : 0;
    if (wait > 0) return problem(429, 'rate_limited', 'Too many reports that failed verification.', { 'retry-after': String(wait) });
    const keyId = one(request.headers['github-public-key-identifier']);
    const signature = one(request.headers['github-public-key-signature']);
    const refuse = async (message: string) => {
      await this.limiter?.hit(source);
      return problem(401, 'invalid_signature', message);
    };
    if (!keyId || !signature) return refuse('Github-Public-Key-Identifier and Github-Public-Key-Signature are required.');
    let pem: string | null;
    try {
      pem = await this.keys.find(keyId);
    } catch (error) {
      keyward.config.logger.error(errorFields(error), 'keyward: secret scanning public keys unavailable; answering 503');
      return problem(503, 'unavailable', 'The signing keys could not be fetched; retry later.', { 'retry-after': '60' });
    }
    if (pem === null) return refuse('Unknown Github-Public-Key-Identifier.');
    let valid = false;
    try {
      valid = verify('sha256', request.rawBody, pem, Buffer.from(signature, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) return refuse('The signature does not match the body.');
    let matches: unknown;
    try {
      matches = JSON.parse(Buffer.from(request.rawBody).toString('utf8'));
    } catch {
      return problem(400, 'invalid_request', 'The body is not JSON.');
    }
    if (!Array.isArray(matches)) return problem(400, 'invalid_request', 'The body must be a JSON array.');
    if (matches.length > MAX_TOKENS) return problem(400, 'invalid_request', `A report holds at most ${MAX_TOKENS} tokens.`);
    const items: { token: string; type: string; url: string }[] = [];
    for (const m of matches as Record<string, unknown>[]) {
      if (typeof m !== 'object' || m === null || typeof m.token !== 'string' || m.token === '') {
        return problem(400, 'invalid_request', 'Every match needs a token.');
      }
      items.push({
        token: m.token,
        type: typeof m.type === 'string' ? m.type : '',
        url: typeof m.url === 'string' && m.url !== '' ? m.url : 'unknown',
      });
    }
    // Each key's audit reason is where it was found.
    let results: readonly LeakResult[];
    try {
      results = await keyward.reportLeaks(
        items.map((item) => ({ token: item.token, source: item.url })),
        { actor: this.actor, policy: this.options.policy ?? 'revoke', ...(this.options.sink ? { sink: this.options.sink } : {}) },
      );
    } catch (error) {
      keyward.config.logger.error(
        errorFields(error),
        'keyward: a leak report could not be applied; answering 503 so that it is sent again',
      );
      return problem(503, 'unavailable', 'The report could not be applied; retry later.', { 'retry-after': '30' });
    }
    return answer(
      200,
      items.map((item, i) => ({
        token_hash: createHash('sha256').update(item.token).digest('hex'),
        token_type: item.type,
        label: results[i]?.label ?? 'false_positive',
      })),
    );
  }

  /**
   * A Node `(req, res)` handler. Reads the raw body itself; mount it before any JSON body
   * parser (`app.post(path, handler)` ahead of `app.use(express.json())`), or give the
   * path `express.raw({ type: 'application/json' })`: a body already parsed into an
   * object cannot be verified and is refused (500 naming the fix).
   */
  nodeHandler(): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      const send = (r: SecretScanningResponse) => {
        res.writeHead(r.status, r.headers);
        res.end(r.body);
      };
      void readRawBody(req)
        .then((rawBody) => {
          if (rawBody === 'parsed') {
            return problem(
              500,
              'misconfigured',
              'The body was parsed before the secret-scanning handler: mount it before express.json(), or use express.raw() for its path.',
            );
          }
          if (rawBody === 'too_large') return problem(413, 'payload_too_large', 'A report is at most 1 MiB.');
          return this.handle({ headers: req.headers, rawBody, source: req.socket.remoteAddress });
        })
        .then(send, (error: unknown) => {
          this.options.keyward.config.logger.error(errorFields(error), 'keyward: secret scanning request failed');
          send(problem(500, 'internal_error', 'The report could not be read.'));
        });
    };
  }
}

/** The request body as bytes: read from the stream, or taken from `express.raw()` / a `rawBody` field. */
async function readRawBody(req: IncomingMessage): Promise<Uint8Array | 'parsed' | 'too_large'> {
  const parsed = (req as { body?: unknown; rawBody?: unknown }).rawBody ?? (req as { body?: unknown }).body;
  if (parsed instanceof Uint8Array) return parsed.byteLength > MAX_REPORT_BYTES ? 'too_large' : parsed;
  if (typeof parsed === 'string') return Buffer.from(parsed);
  if (parsed !== undefined && req.readableEnded) return 'parsed';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_REPORT_BYTES) return 'too_large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The endpoint as a Node `(req, res)` handler (Express: `app.post('/keyward/secret-scanning', secretScanningHandler({ keyward }))`). */
export function secretScanningHandler(options: SecretScanningOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return new SecretScanningEndpoint(options).nodeHandler();
}
