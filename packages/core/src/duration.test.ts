import { describe, expect, it } from 'vitest';
import { formatDuration, isValidTime, MAX_DURATION_MS, parseDuration, timeAfter } from './duration.js';

describe('parseDuration', () => {
  it('reads 48h, 30d, 15m, seconds, ms, weeks and plain milliseconds', () => {
    expect(parseDuration('48h', 'grace')).toBe(48 * 3_600_000);
    expect(parseDuration('30d', 'x')).toBe(30 * 86_400_000);
    expect(parseDuration('15m', 'x')).toBe(900_000);
    expect(parseDuration('10s', 'x')).toBe(10_000);
    expect(parseDuration('250ms', 'x')).toBe(250);
    expect(parseDuration('1w', 'x')).toBe(604_800_000);
    expect(parseDuration('1.5h', 'x')).toBe(5_400_000);
    expect(parseDuration(1234, 'x')).toBe(1234);
    expect(parseDuration(0, 'x')).toBe(0);
  });

  it('throws naming the option and the value', () => {
    for (const bad of ['48x', '', 'h', '-1h', '1 day', -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, null, {}]) {
      expect(() => parseDuration(bad, 'grace')).toThrow(/option "grace" must be a duration/);
    }
    expect(() => parseDuration('48x', 'grace')).toThrow(/got "48x"/);
  });

  it('refuses durations past the documented maximum (36500d), as numbers and strings', () => {
    expect(parseDuration('36500d', 'x')).toBe(MAX_DURATION_MS);
    expect(parseDuration(MAX_DURATION_MS, 'x')).toBe(MAX_DURATION_MS);
    for (const big of ['36501d', '99999999d', `${'9'.repeat(30)}d`, MAX_DURATION_MS + 1, Number.MAX_SAFE_INTEGER]) {
      expect(() => parseDuration(big, 'grace')).toThrow(/option "grace" must be at most 36500d \(about 100 years\)/);
    }
  });

  it('timeAfter refuses a time a Date cannot hold; isValidTime says which stored times are usable', () => {
    expect(timeAfter(1000, 500, 'ttl')).toBe(1500);
    expect(() => timeAfter(8.64e15, 1, 'ttl')).toThrow(/option "ttl" puts the time past what a date can hold/);
    expect(isValidTime(Date.UTC(2026, 0, 1))).toBe(true);
    for (const bad of [8.64e15 + 1, Number.NaN, Number.POSITIVE_INFINITY, '1', null]) expect(isValidTime(bad)).toBe(false);
  });

  it('formats in the largest whole unit', () => {
    expect(formatDuration(48 * 3_600_000)).toBe('2d');
    expect(formatDuration(90 * 60_000)).toBe('90m');
    expect(formatDuration(1500)).toBe('1500ms');
  });
});
