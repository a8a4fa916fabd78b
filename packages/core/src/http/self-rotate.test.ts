import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { createKeyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';
import type { ValidKey } from '../verify-result.js';
import { ApiKeyHttpError } from './api-key-http-error.js';
import { DEFAULT_RESPONSE_CONFIG as config } from './responses.js';
import { selfRotate } from './self-rotate.js';

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const keyward = createKeyward({ store: new MemoryStore(), clock, grace: '48h', keyLifetime: '30d' });
  const issued = await keyward.issue('acme');
  const key = (await keyward.verify(issued.key)) as ValidKey;
  return { clock, keyward, issued, key };
}

describe('selfRotate', () => {
  it('issues the successor once, then replays without the key for the same Idempotency-Key', async () => {
    const { clock, keyward, issued, key } = await setup();
    const first = await selfRotate(keyward, key, config, { idempotencyKey: '"abc-1"' });
    expect(first.status).toBe(201);
    expect(first.body.key).toMatch(/^sk_live_/);
    expect(first.body).toMatchObject({
      oldKeyId: issued.id,
      oldFingerprint: issued.fingerprint,
      // Grace from first use (the self-service default): until then, the latest end (maxWait, 7d).
      sunset: new Date(clock.now() + 7 * 24 * 3_600_000).toISOString(),
      replayed: false,
    });
    expect(first.headers).toMatchObject({ 'Cache-Control': 'no-store', Sunset: new Date(clock.now() + 7 * 24 * 3_600_000).toUTCString() });
    expect((await keyward.verify(first.body.key)).valid).toBe(true);

    const again = await selfRotate(keyward, key, config, { idempotencyKey: 'abc-1' });
    expect(again.status).toBe(200);
    expect(again.body).not.toHaveProperty('key');
    expect(again.body).toMatchObject({ rotationId: first.body.rotationId, fingerprint: first.body.fingerprint, replayed: true });
    expect(again.headers['Idempotent-Replayed']).toBe('true');
  });

  it('refuses a second rotation while one is in progress (409) and a bad Idempotency-Key (400)', async () => {
    const { keyward, key } = await setup();
    await selfRotate(keyward, key, config, {});
    await expect(selfRotate(keyward, key, config, {})).rejects.toMatchObject({ status: 409, code: 'rotation_in_progress' });
    await expect(selfRotate(keyward, key, config, { idempotencyKey: 'x'.repeat(300) })).rejects.toBeInstanceOf(ApiKeyHttpError);
    await expect(selfRotate(keyward, key, config, { idempotencyKey: ['a', 'b'] })).rejects.toMatchObject({ status: 400 });
  });
});
