import { describe, expect, it } from 'vitest';
import { BAD_SYNTAX, EMPTY_BEARER, EMPTY_KEY, type ExtractionConfig, extractKey, NOT_BEARER, TOO_LONG, TWO_KEYS } from './extract-key.js';

const KEY = 'sk_live_abcDEF123';
const OTHER = 'sk_live_xyzXYZ789';
const base: ExtractionConfig = { bearer: true, header: 'x-api-key', maxLength: 512, extract: undefined };
const run = (headers: Record<string, string | string[]>, config: ExtractionConfig = base) => extractKey({ headers }, config);

describe('extractKey', () => {
  it('reads Authorization: Bearer and X-API-Key', () => {
    expect(run({ authorization: `Bearer ${KEY}` })).toBe(KEY);
    expect(run({ authorization: `bearer   ${KEY}  ` })).toBe(KEY);
    expect(run({ 'x-api-key': KEY })).toBe(KEY);
  });

  it('returns undefined when no key is presented', () => {
    expect(run({})).toBeUndefined();
    expect(run({ accept: 'application/json' })).toBeUndefined();
  });

  it('accepts the same key in both headers, refuses two different ones', () => {
    expect(run({ authorization: `Bearer ${KEY}`, 'x-api-key': KEY })).toBe(KEY);
    expect(run({ authorization: `Bearer ${KEY}`, 'x-api-key': OTHER })).toBe(TWO_KEYS);
    expect(run({ 'x-api-key': `${KEY}, ${OTHER}` })).toBe(TWO_KEYS);
    expect(run({ 'x-api-key': [KEY, OTHER] })).toBe(TWO_KEYS);
    expect(run({ 'x-api-key': [KEY, KEY] })).toBe(KEY);
    expect(run({ authorization: [`Bearer ${KEY}`, `Bearer ${OTHER}`] })).toBe(TWO_KEYS);
  });

  it('sees a second Authorization header that Node dropped from headers, through rawHeaders', () => {
    const headers = { authorization: `Bearer ${KEY}` }; // what Node keeps: the first
    const raw = (...values: string[]) => values.flatMap((v, i) => [i % 2 === 0 ? 'Authorization' : 'authorization', v]);
    expect(extractKey({ headers, rawHeaders: raw(`Bearer ${KEY}`, `Bearer ${OTHER}`) }, base)).toBe(TWO_KEYS);
    expect(extractKey({ headers, rawHeaders: raw(`Bearer ${KEY}`, 'Basic dXNlcg==') }, base)).toBe(NOT_BEARER);
    expect(extractKey({ headers, rawHeaders: raw(`Bearer ${KEY}`, `bearer ${KEY}`) }, base)).toBe(KEY);
    expect(extractKey({ headers, rawHeaders: ['Host', 'x', 'Authorization', `Bearer ${KEY}`] }, base)).toBe(KEY);
    expect(extractKey({ headers, rawHeaders: raw(`Bearer ${KEY}`, `Bearer ${'k'.repeat(600)}`) }, base)).toBe(TOO_LONG);
  });

  it('refuses an empty Bearer, another scheme, an empty key header and bad syntax', () => {
    expect(run({ authorization: 'Bearer' })).toBe(EMPTY_BEARER);
    expect(run({ authorization: 'Bearer    ' })).toBe(EMPTY_BEARER);
    expect(run({ authorization: '' })).toBe(EMPTY_BEARER);
    expect(run({ authorization: 'Basic dXNlcjpwYXNz' })).toBe(NOT_BEARER);
    expect(run({ authorization: `Bearer ${KEY} ${OTHER}` })).toBe(BAD_SYNTAX);
    expect(run({ 'x-api-key': '' })).toBe(EMPTY_KEY);
    expect(run({ 'x-api-key': ' , ' })).toBe(EMPTY_KEY);
    expect(run({ 'x-api-key': 'sk live' })).toBe(BAD_SYNTAX);
  });

  it('refuses an over-long header before looking inside it', () => {
    expect(run({ authorization: `Bearer ${'a'.repeat(600)}` })).toBe(TOO_LONG);
    expect(run({ 'x-api-key': 'a'.repeat(513) })).toBe(TOO_LONG);
    expect(run({ 'x-api-key': ['a'.repeat(300), 'a'.repeat(300)] })).toBe(TOO_LONG);
    expect(run({ 'x-api-key': 'a'.repeat(512) })).toBe('a'.repeat(512));
  });

  it('passes a well-formed-looking but wrong key on (the verifier calls it invalid)', () => {
    expect(run({ 'x-api-key': 'not-a-key' })).toBe('not-a-key');
  });

  it('ignores a disabled source', () => {
    const noBearer = { ...base, bearer: false };
    expect(run({ authorization: 'Basic xyz', 'x-api-key': KEY }, noBearer)).toBe(KEY);
    const custom = { ...base, header: 'x-token' };
    expect(run({ 'x-api-key': KEY }, custom)).toBeUndefined();
    expect(run({ 'x-token': KEY }, custom)).toBe(KEY);
  });

  it('uses a custom extractor instead of the header rules', () => {
    const config = { ...base, extract: (r: { headers: Record<string, unknown> }) => r.headers['x-custom'] as string | undefined };
    expect(run({ 'x-custom': KEY, authorization: 'Basic zzz' }, config)).toBe(KEY);
    expect(run({}, config)).toBeUndefined();
    expect(run({ 'x-custom': '' }, config)).toBe(EMPTY_KEY);
    expect(run({ 'x-custom': 'a'.repeat(600) }, config)).toBe(TOO_LONG);
  });
});
