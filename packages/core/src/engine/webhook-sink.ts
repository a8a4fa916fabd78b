import { invalidOption } from '../errors.js';
import type { KeyDelivery, SecretSink } from './secret-sink.js';
import { postSignedJson, resolveWebhookOptions, type SignedWebhookConfig, type SignedWebhookOptions } from './webhook-post.js';

export interface WebhookSinkOptions extends SignedWebhookOptions {
  /** Name in logs and audit rows. Default `webhook`. */
  name?: string;
}

/**
 * Delivers a rotated key by POSTing JSON to your endpoint:
 * `{"type":"keyward.key.delivery","rotationId",...,"key"}`, signed in
 * `X-Keyward-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "t.body">` (check it with
 * `verifyWebhookSignature`), with `Idempotency-Key: <rotationId>` so a retried
 * POST can be recognised. Any 2xx is success; 5xx, 408, 429 and network errors are
 * retried with exponential backoff and full jitter; any other status fails at once.
 */
export class WebhookSink implements SecretSink {
  readonly name: string;
  private readonly config: SignedWebhookConfig;

  constructor(options: WebhookSinkOptions) {
    this.config = resolveWebhookOptions(options, 'WebhookSink');
    const name = options.name ?? 'webhook';
    if (typeof name !== 'string' || !/^[\w.:-]{1,64}$/.test(name)) {
      throw invalidOption('WebhookSink.name', name, 'must be 1-64 letters, digits, _ . : or -');
    }
    this.name = name;
  }

  async deliver(delivery: KeyDelivery): Promise<void> {
    const body = JSON.stringify({
      type: 'keyward.key.delivery',
      rotationId: delivery.rotationId,
      clientId: delivery.clientId,
      keyId: delivery.keyId,
      fingerprint: delivery.fingerprint,
      graceUntil: new Date(delivery.graceUntil).toISOString(),
      expiresAt: delivery.expiresAt === null ? null : new Date(delivery.expiresAt).toISOString(),
      key: delivery.key,
    });
    await postSignedJson(this.config, body, delivery.rotationId, `webhook delivery of rotation ${delivery.rotationId}`);
  }
}
