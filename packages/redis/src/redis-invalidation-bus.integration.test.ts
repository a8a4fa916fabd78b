import { isKeywardError } from '@keyward/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisInvalidationBus } from './redis-invalidation-bus.js';
import { liveKey } from './testing/live-keys.js';
import { sparePort, waitFor } from './testing/redis-server.js';
import { type RedisTarget, randomNamespace, TARGETS } from './testing/targets.js';

/** Handlers that record every call in order. */
function recorder() {
  const calls: string[] = [];
  const resetAt: number[] = [];
  return {
    calls,
    resetAt,
    handlers: {
      invalidate: (hash: string) => void calls.push(`invalidate:${hash}`),
      reset: () => {
        calls.push('reset');
        resetAt.push(performance.now());
      },
    },
    resets: () => calls.filter((c) => c === 'reset').length,
  };
}

describe.each(TARGETS)('RedisInvalidationBus on $name', ({ start }) => {
  let target: RedisTarget;

  beforeAll(async () => {
    target = await start();
  });
  afterAll(async () => {
    await target.close();
  });

  /** Ids of this namespace's subscriber connections, per node. */
  async function subscriberIds(namespace: string): Promise<{ node: number; id: string }[]> {
    const found: { node: number; id: string }[] = [];
    const nodes = target.nodes();
    for (let i = 0; i < nodes.length; i++) {
      const list = (await nodes[i]!.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
      for (const line of list.split('\n')) {
        if (line.includes(` name=${namespace}:bus `)) found.push({ node: i, id: /(?:^|\s)id=(\d+)/.exec(line)![1]! });
      }
    }
    return found;
  }

  it('delivers a publish from one client to a subscriber on another, on a dedicated connection', async () => {
    const namespace = randomNamespace();
    const subscriberSide = new RedisInvalidationBus({ client: target.client(), namespace });
    const publisherSide = new RedisInvalidationBus({ client: target.client(), namespace });
    const r = recorder();
    const unsubscribe = await subscriberSide.subscribe(r.handlers);
    expect(r.calls).toEqual(['reset']); // subscribed: anything before it may have been missed
    expect(await subscriberIds(namespace)).toHaveLength(1);
    const { keyHash } = liveKey();
    await publisherSide.publish(keyHash);
    await waitFor('delivery', async () => r.calls.includes(`invalidate:${keyHash}`), 2000);
    expect(subscriberSide.channel).toBe(`${namespace}:invalidate`);
    await unsubscribe();
    await waitFor('subscriber closed', async () => (await subscriberIds(namespace)).length === 0, 2000);
    const after = liveKey().keyHash;
    await publisherSide.publish(after);
    await new Promise((r) => setTimeout(r, 150));
    expect(r.calls).not.toContain(`invalidate:${after}`);
  });

  it('resets when the subscriber connection is killed, resubscribes, resets again, and delivers again', async () => {
    const namespace = randomNamespace();
    const bus = new RedisInvalidationBus({ client: target.client(), namespace });
    const r = recorder();
    const unsubscribe = await bus.subscribe(r.handlers);
    const [victim] = await subscriberIds(namespace);
    expect(victim).toBeDefined();
    await target.nodes()[victim!.node]!.client('KILL', 'ID', victim!.id);
    await waitFor('reset after drop and after resubscribe', async () => r.resets() >= 3, 3000);
    expect(r.calls).toEqual(['reset', 'reset', 'reset']);
    const renewed = await subscriberIds(namespace);
    expect(renewed).toHaveLength(1);
    expect(renewed[0]).not.toEqual(victim); // a new connection (ids are per node)
    const { keyHash } = liveKey();
    await bus.publish(keyHash);
    await waitFor('delivery after resubscribe', async () => r.calls.includes(`invalidate:${keyHash}`), 2000);
    await unsubscribe();
  });

  it('flushes on a malformed message and survives a throwing handler', async () => {
    const namespace = randomNamespace();
    const bus = new RedisInvalidationBus({ client: target.client(), namespace });
    const r = recorder();
    let throws = true;
    const unsubscribe = await bus.subscribe({
      invalidate: (hash) => {
        r.handlers.invalidate(hash);
        if (throws) {
          throws = false;
          throw new Error('handler bug');
        }
      },
      reset: r.handlers.reset,
    });
    await target.raw().publish(bus.channel, 'not a key hash');
    await waitFor('reset on garbage', async () => r.resets() === 2, 2000);
    const [a, b] = [liveKey().keyHash, liveKey().keyHash];
    await bus.publish(a);
    await bus.publish(b);
    await waitFor('both delivered', async () => r.calls.includes(`invalidate:${b}`), 2000);
    expect(r.calls).toEqual(['reset', 'reset', `invalidate:${a}`, `invalidate:${b}`]);
    await bus.close();
    await unsubscribe(); // after close: harmless
    await waitFor('close to end the subscriber connection', async () => (await subscriberIds(namespace)).length === 0, 2000);
  });
});

describe('RedisInvalidationBus with Redis unreachable', () => {
  it('subscribe and publish reject fast with KEYWARD_UNAVAILABLE and leave nothing open', async () => {
    const port = await sparePort();
    const bus = new RedisInvalidationBus({ url: `redis://127.0.0.1:${port}`, namespace: randomNamespace() });
    const started = performance.now();
    const error = await bus.subscribe({ invalidate: () => {}, reset: () => {} }).catch((e: unknown) => e);
    expect(isKeywardError(error, 'KEYWARD_UNAVAILABLE')).toBe(true);
    await expect(bus.publish(liveKey().keyHash)).rejects.toMatchObject({ code: 'KEYWARD_UNAVAILABLE' });
    expect(performance.now() - started).toBeLessThan(1000);
    await bus.close();
  });

  it('refuses handlers without invalidate/reset', async () => {
    const bus = new RedisInvalidationBus({ namespace: randomNamespace() });
    await expect(bus.subscribe({} as never)).rejects.toMatchObject({ code: 'KEYWARD_INVALID_ARGUMENT' });
    await bus.close();
  });
});

describe('RedisInvalidationBus heartbeat', () => {
  it('notices a frozen Redis (SIGSTOP: the connection stays open) within a second, and resubscribes after the thaw', async () => {
    const { startTestRedisServer } = await import('./testing/redis-server.js');
    const server = await startTestRedisServer();
    const namespace = randomNamespace();
    const bus = new RedisInvalidationBus({ url: server.url, namespace });
    const publisher = new RedisInvalidationBus({ url: server.url, namespace });
    const { calls, handlers, resets, resetAt } = recorder();
    try {
      await bus.subscribe(handlers);
      expect(resets()).toBe(1);
      await server.freeze();
      const frozenAt = performance.now();
      await waitFor('the heartbeat to give up', async () => resets() === 2, 3000);
      // Timed at the reset itself, not at the poll that saw it. By design at most 800 ms
      // (one beat to send the PING, three unanswered); the rest allows for timers that
      // fire late on a loaded two-core machine.
      const noticedMs = (resetAt[1] ?? Number.POSITIVE_INFINITY) - frozenAt;
      expect(noticedMs).toBeLessThan(1000);
      await server.thaw();
      await waitFor('the resubscription', async () => resets() === 3, 10_000);
      const key = liveKey();
      await publisher.publish(key.keyHash);
      await waitFor('the message', async () => calls.includes(`invalidate:${key.keyHash}`));
    } finally {
      await server.thaw().catch(() => undefined);
      await bus.close();
      await publisher.close();
      await server.destroy();
    }
  });

  it('validates heartbeatInterval', () => {
    expect(() => new RedisInvalidationBus({ heartbeatInterval: '5ms' })).toThrow(/heartbeatInterval/);
    expect(() => new RedisInvalidationBus({ heartbeatInterval: 0 })).not.toThrow();
  });
});
