import { describe, expect, expectTypeOf, it } from 'vitest';
import { KeywardEmitter, type KeywardEvents } from './events.js';
import { createKeyward } from './keyward.js';
import { silentLogger } from './logger.js';

describe('KeywardEmitter', () => {
  it('types each listener by its event name', () => {
    const keyward = createKeyward();
    keyward.on('key.rejected', (event) => {
      expectTypeOf(event.reason).toEqualTypeOf<'unknown' | 'expired' | 'inactive' | 'revoked'>();
      expectTypeOf(event.fingerprint).toEqualTypeOf<string>();
    });
    keyward.on('key.used_in_grace', (event) => {
      expectTypeOf(event.graceUntil).toEqualTypeOf<number>();
    });
    expectTypeOf<KeywardEvents['key.revoked']['reason']>().toEqualTypeOf<string>();
    // @ts-expect-error: not an event keyward emits
    keyward.on('key.stolen', () => {});
  });

  it('removes listeners with off and with the returned function', () => {
    const emitter = new KeywardEmitter(silentLogger);
    const seen: string[] = [];
    const listener = (e: KeywardEvents['rotation.failed']) => {
      seen.push(e.rotationId);
    };
    const stop = emitter.on('rotation.failed', listener);
    expect(emitter.has('rotation.failed')).toBe(true);
    emitter.emit('rotation.failed', { at: 1, clientId: 'c', rotationId: 'r1', error: 'x' });
    stop();
    emitter.emit('rotation.failed', { at: 1, clientId: 'c', rotationId: 'r2', error: 'x' });
    emitter.on('rotation.failed', listener);
    emitter.off('rotation.failed', listener);
    emitter.emit('rotation.failed', { at: 1, clientId: 'c', rotationId: 'r3', error: 'x' });
    expect(seen).toEqual(['r1']);
    expect(emitter.has('rotation.failed')).toBe(false);
  });
});
