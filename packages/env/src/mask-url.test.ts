import { describe, expect, it } from 'vitest';
import { maskUrl } from './mask-url.js';

describe('maskUrl', () => {
  it('masks the password of a URL and keeps the rest', () => {
    expect(maskUrl('postgres://app:s3cret@db.internal:5432/keys')).toBe('postgres://app:***@db.internal:5432/keys');
    expect(maskUrl('rediss://:hunter2@cache:6380/0')).toBe('rediss://:***@cache:6380/0');
    expect(maskUrl('postgres://app@db/keys')).toBe('postgres://app@db/keys');
  });

  it('shows a path as is, and only the scheme of a URL that does not parse', () => {
    expect(maskUrl('/srv/keyward.db')).toBe('/srv/keyward.db');
    expect(maskUrl('file:keys.db')).toBe('file:keys.db');
    const broken = maskUrl('postgres://app:s3cret@db:99999999/keys');
    expect(broken).toBe('(a postgres:// URL that does not parse)');
    expect(broken).not.toContain('s3cret');
  });
});
