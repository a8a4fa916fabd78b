import { createServer } from 'node:net';
import { verifyWebhookSignature, WebhookSink } from '@keyward/core';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger, type Receiver, startReceiver } from './helpers.js';

const SECRET = 'whsec_test_0123456789abcdef';
const KEY = 'sk_live_THISISTHEPLAINTEXTKEYTHATMUSTNEVERBELOGGED0000';

const delivery = {
  rotationId: '7f1c0a52-5d3c-4f0e-9d0b-2a7e1f3b9c11',
  clientId: 'acme',
  keyId: 'k-new',
  key: KEY,
  fingerprint: 'ab12cd34',
  graceUntil: Date.UTC(2026, 0, 3),
  expiresAt: Date.UTC(2026, 1, 1),
};

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

function sinkFor(url: string, extra: Partial<ConstructorParameters<typeof WebhookSink>[0]> = {}) {
  const sleeps: number[] = [];
  const { lines, logger } = captureLogger();
  const sink = new WebhookSink({
    url,
    secret: SECRET,
    attempts: 4,
    baseDelay: '100ms',
    maxDelay: '1s',
    timeout: '2s',
    logger,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...extra,
  });
  return { sink, sleeps, lines };
}

describe('WebhookSink against a real HTTP receiver', () => {
  it('POSTs signed JSON that verifyWebhookSignature accepts, with Idempotency-Key = rotation id', async () => {
    receiver = await startReceiver(() => 204);
    const { sink } = sinkFor(receiver.url);
    await sink.deliver(delivery);
    expect(receiver.requests).toHaveLength(1);
    const [req] = receiver.requests;
    expect(req?.method).toBe('POST');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['idempotency-key']).toBe(delivery.rotationId);
    const body = JSON.parse(req?.body as string);
    expect(body).toMatchObject({ type: 'keyward.key.delivery', rotationId: delivery.rotationId, clientId: 'acme', key: KEY });
    const header = req?.headers['x-keyward-signature'];
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature({ payload: req?.body as string, header, secret: SECRET })).toBe(true);
    // wrong secret, edited body, stale timestamp: all refused
    expect(verifyWebhookSignature({ payload: req?.body as string, header, secret: 'another-secret-of-16+' })).toBe(false);
    expect(verifyWebhookSignature({ payload: `${req?.body} `, header, secret: SECRET })).toBe(false);
    expect(verifyWebhookSignature({ payload: req?.body as string, header, secret: SECRET, now: Date.now() + 10 * 60_000 })).toBe(false);
    expect(verifyWebhookSignature({ payload: req?.body as string, header: 't=1,v1=abc', secret: SECRET })).toBe(false);
    expect(verifyWebhookSignature({ payload: req?.body as string, header: undefined, secret: SECRET })).toBe(false);
  });

  it('retries 500s with backoff (full jitter, growing ceiling) and then succeeds; each try is freshly signed', async () => {
    receiver = await startReceiver((_req, i) => (i < 2 ? 500 : 200));
    const { sink, sleeps, lines } = sinkFor(receiver.url);
    await sink.deliver(delivery);
    expect(receiver.requests).toHaveLength(3);
    expect(sleeps).toEqual([50, 100]); // random 0.5 × min(1s, 100ms × 2^(n-1))
    for (const req of receiver.requests) {
      expect(req.headers['idempotency-key']).toBe(delivery.rotationId);
      expect(verifyWebhookSignature({ payload: req.body, header: req.headers['x-keyward-signature'], secret: SECRET })).toBe(true);
    }
    expect(lines.filter((l) => l.includes('retrying'))).toHaveLength(2);
    expect(lines.join('\n')).not.toContain(KEY);
    expect(lines.join('\n')).not.toContain('token=abc'); // the query (may hold a token) is not logged
  });

  it('gives up after the configured attempts with an error that names the status, never the key', async () => {
    receiver = await startReceiver(() => 503);
    const { sink, sleeps, lines } = sinkFor(receiver.url);
    const error = await sink.deliver(delivery).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/failed after 4 attempts \(last: HTTP 503\)/);
    expect(error?.message).not.toContain(KEY);
    expect(receiver.requests).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
    expect(sleeps.every((ms, i) => ms <= Math.min(1000, 100 * 2 ** i))).toBe(true);
    expect(lines.join('\n')).not.toContain(KEY);
  });

  it('does not retry a 400, but does retry 429 honouring Retry-After (capped at maxDelay)', async () => {
    receiver = await startReceiver(() => 400);
    const first = sinkFor(receiver.url);
    await expect(first.sink.deliver(delivery)).rejects.toThrow(/HTTP 400 \(not retried\)/);
    expect(receiver.requests).toHaveLength(1);
    expect(first.sleeps).toEqual([]);
    await receiver.close();

    receiver = await startReceiver((_req, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '7' } } : 200));
    const second = sinkFor(receiver.url);
    await second.sink.deliver(delivery);
    expect(receiver.requests).toHaveLength(2);
    expect(second.sleeps).toEqual([1000]);
  });

  it('times out a receiver that hangs, and retries', async () => {
    receiver = await startReceiver((_req, i) => (i === 0 ? { status: 200, delayMs: 5000 } : 200));
    const { sink, sleeps } = sinkFor(receiver.url, { timeout: '200ms' });
    await sink.deliver(delivery);
    expect(receiver.requests).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  it('a closed port is a network error: retried, then fails', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const { sink, sleeps } = sinkFor(`http://127.0.0.1:${port}/hook`, { attempts: 3 });
    await expect(sink.deliver(delivery)).rejects.toThrow(/failed after 3 attempts \(last: network error ECONNREFUSED\)/);
    expect(sleeps).toHaveLength(2);
  });

  it('validates its options at construction', () => {
    expect(() => new WebhookSink({ url: 'http://example.com/hook', secret: SECRET })).toThrow(/WebhookSink\.url.*https/);
    expect(() => new WebhookSink({ url: 'https://example.com/hook', secret: 'short' })).toThrow(/WebhookSink\.secret/);
    expect(() => new WebhookSink({ url: 'https://example.com/hook', secret: SECRET, attempts: 0 })).toThrow(/WebhookSink\.attempts.*0/);
    expect(() => new WebhookSink({ url: 'https://u:p@example.com/hook', secret: SECRET })).toThrow(/credentials/);
    expect(() => new WebhookSink({ url: 'https://example.com/hook', secret: SECRET, timeout: '1x' })).toThrow(/WebhookSink\.timeout/);
  });
});
