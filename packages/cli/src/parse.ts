import { type Duration, formatDuration, isKeywardError, parseDuration } from '@keyward/core';
import { UsageError } from './errors.js';

/** `--ttl 30d` → '30d'; `--ttl never` → null; a bad value → usage error naming the flag. */
export function parseTtl(value: string | undefined): Duration | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'never') return null;
  return checkDuration(value, '--ttl');
}

export function checkDuration(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  try {
    parseDuration(value, flag);
  } catch (error) {
    if (isKeywardError(error) && typeof error.details.maxMs === 'number') {
      throw new UsageError(
        `${flag} must be at most ${formatDuration(error.details.maxMs)} (about 100 years); got ${JSON.stringify(value)}`,
      );
    }
    throw new UsageError(`${flag} must be a duration like 48h, 30d or 15m; got ${JSON.stringify(value)}`);
  }
  return value;
}

export function parseScopes(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const scopes = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (scopes.length === 0) throw new UsageError(`--scopes must list at least one scope; got ${JSON.stringify(value)}`);
  return scopes;
}

/** `--since 2026-01-01`, an ISO time, or a duration meaning "that long ago" (`--since 24h`). */
export function parseSince(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?(ms|s|m|h|d|w)$/.test(value)) return now - parseDuration(value, '--since');
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new UsageError(`--since must be an ISO date/time or a duration like 24h; got ${JSON.stringify(value)}`);
  return at;
}

/** `--actor` as given, or `cli:$USER`; an empty one is refused like an empty `--reason` (the audit trail must name someone). */
export function parseActor(value: string | undefined): string {
  if (value === undefined) return `cli:${process.env.USER ?? process.env.LOGNAME ?? 'unknown'}`;
  if (value.trim() === '') throw new UsageError('--actor must not be empty (leave it out for cli:$USER)');
  return value;
}

/** `--reason`: optional, but when given it must say something. */
export function parseReason(value: string | undefined, required = false): string | undefined {
  if (value === undefined) {
    if (required) throw new UsageError('--reason is required');
    return undefined;
  }
  if (value.trim() === '') throw new UsageError('--reason must not be empty');
  return value;
}
