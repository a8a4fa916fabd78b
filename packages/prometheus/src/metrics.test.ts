import { execFileSync } from 'node:child_process';
import { createKeyward, ManualClock, MemoryStore, Scheduler, type SecretSink } from '@keyward/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './index.js';

const DAY = 86_400_000;

/** Strict check of the text exposition format (what Prometheus's parser requires of these lines). */
function checkExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        typed.add(meta[2] as string);
      }
      continue;
    }
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!sample) throw new Error(`not a valid exposition line: ${line}`);
    const family = (sample[1] as string).replace(/_(total|count|sum|bucket)$/, '');
    expect(typed.has(sample[1] as string) || typed.has(family)).toBe(true);
    samples.set(`${sample[1]}${sample[2] ?? ''}`, Number(sample[3]));
  }
  return samples;
}

function promtoolAvailable(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('createMetrics', () => {
  it('counts lifecycle, key uses, deliveries and scheduler passes; keys by status from the store; valid exposition', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new MemoryStore();
    const keyward = createKeyward({ store, clock });
    let fail = true;
    const sink: SecretSink = {
      name: 'test-sink',
      async deliver() {
        if (fail) throw new Error('receiver down');
      },
    };
    const scheduler = new Scheduler(keyward, { sink, retryAfter: 0, graceFrom: 'rotation' });
    const registry = new Registry();
    const metrics = createMetrics(keyward, { registry, prefix: 'kw_', scheduler, keyCountCacheTtl: 0 });

    const a = await keyward.issue('a');
    const b = await keyward.issue('b');
    await keyward.revoke(b.id, { reason: 'compromised' });
    await keyward.verify(b.key);
    await keyward.verify(b.key);
    await keyward.verify(`${a.key.slice(0, -8)}AAAAAAAA`); // bad checksum: no event (rejected without I/O)
    clock.advance(24 * DAY);
    await scheduler.tick(); // delivery fails: rotation failed
    fail = false;
    await scheduler.tick(); // retried (retryAfter 0): delivered
    await keyward.verify(a.key); // old key during grace
    clock.advance(3 * DAY);
    await scheduler.tick(); // finalized
    await keyward.verify(a.key); // old key after grace: rejected inactive

    const text = await registry.metrics();
    const samples = checkExposition(text);
    expect(samples.get('kw_keys_issued_total')).toBe(2);
    expect(samples.get('kw_keys_revoked_total')).toBe(1);
    expect(samples.get('kw_rotations_started_total')).toBe(2);
    expect(samples.get('kw_rotations_failed_total')).toBe(1);
    expect(samples.get('kw_rotations_completed_total')).toBe(1);
    expect(samples.get('kw_deliveries_failed_total{sink="test-sink"}')).toBe(1);
    expect(samples.get('kw_old_key_uses_total{phase="in_grace"}')).toBe(1);
    expect(samples.get('kw_old_key_uses_total{phase="after_grace"}')).toBe(1);
    expect(samples.get('kw_revoked_key_uses_total')).toBe(2);
    expect(samples.get('kw_keys{status="active"}')).toBe(1);
    expect(samples.get('kw_keys{status="inactive"}')).toBe(1);
    expect(samples.get('kw_keys{status="revoked"}')).toBe(2); // b, and the undelivered key of the failed rotation
    expect(samples.get('kw_keys{status="pending"}')).toBe(0);
    expect(samples.get('kw_scheduler_last_success_timestamp_seconds')).toBe(clock.now() / 1000);
    expect(samples.get('kw_scheduler_passes_total{outcome="ok"}')).toBe(3);

    // A round trip through prom-client itself, and promtool when the machine has it.
    const json = await registry.getMetricsAsJSON();
    expect(json.map((m) => m.name)).toContain('kw_keys');
    if (promtoolAvailable()) execFileSync('promtool', ['check', 'metrics'], { input: text });

    metrics.close();
    expect((await registry.metrics()).trim()).toBe('');
  });

  it('counts an unknown key attempt and keeps the last key count when the store fails', async () => {
    const store = new MemoryStore();
    const keyward = createKeyward({ store });
    const registry = new Registry();
    let down = false;
    const flaky = new Proxy(store, {
      get: (target, prop) =>
        prop === 'listKeys' ? () => (down ? Promise.reject(new Error('db down')) : target.listKeys({})) : Reflect.get(target, prop),
    });
    createMetrics(keyward, { registry, store: flaky, keyCountCacheTtl: 0 });
    await keyward.issue('x');
    const foreign = await createKeyward().issue('y');
    await keyward.verify(foreign.key); // well-formed, unknown here
    let samples = checkExposition(await registry.metrics());
    expect(samples.get('keyward_unknown_key_attempts_total')).toBe(1);
    expect(samples.get('keyward_keys{status="active"}')).toBe(1);
    down = true;
    await keyward.issue('z');
    samples = checkExposition(await registry.metrics());
    expect(samples.get('keyward_keys{status="active"}')).toBe(1); // last known value, scrape still succeeds
    down = false;
    expect(checkExposition(await registry.metrics()).get('keyward_keys{status="active"}')).toBe(2);
  });

  it('shows the known-keys filter: ready, keys, bytes, false-positive rate, what it ruled out; and the change log position', async () => {
    const keyward = createKeyward({ store: new MemoryStore() });
    const registry = new Registry();
    const metrics = createMetrics(keyward, { registry, prefix: 'kw_' });
    await keyward.issue('acme');
    await keyward.knownKeysReady();
    await keyward.catchUp();
    const foreign = await createKeyward().issue('elsewhere');
    await keyward.verify(foreign.key);
    const samples = checkExposition(await registry.metrics());
    expect(samples.get('kw_known_keys_filter_ready')).toBe(1);
    expect(samples.get('kw_known_keys_filter_keys')).toBe(1);
    expect(samples.get('kw_known_keys_filter_bytes')).toBeGreaterThan(0);
    expect(samples.get('kw_known_keys_filter_false_positive_rate')).toBeLessThan(0.001);
    expect(samples.get('kw_known_keys_ruled_out')).toBe(1);
    expect(samples.get('kw_known_keys_budget_lookups')).toBe(1);
    expect(samples.get('kw_change_log_last_seq')).toBe(1);
    expect(samples.get('kw_change_log_read_age_seconds')).toBeGreaterThanOrEqual(0);
    metrics.close();
    await keyward.close();
  });

  it('validates options and never mutates them', () => {
    const keyward = createKeyward();
    expect(() => createMetrics(keyward, { prefix: '9bad', registry: new Registry() })).toThrow(
      /@keyward\/prometheus: option "prefix".*"9bad"/,
    );
    expect(() => createMetrics(keyward, { registry: {} as Registry })).toThrow(/option "registry"/);
    const options = Object.freeze({ registry: new Registry(), prefix: 'x_' });
    createMetrics(keyward, options);
    expect(options.prefix).toBe('x_');
  });
});
