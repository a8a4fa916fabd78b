import type { KeyObject } from 'node:crypto';
import { type Duration, parseDuration } from '../duration.js';
import type { AlertSink } from '../engine/alert-sinks.js';
import { invalidOption } from '../errors.js';
import { ed25519Key } from './anchor.js';
import { AUDIT_PAGE_SIZE } from './audit-pages.js';

export interface AuditAnchorOptions {
  /** Publish once this many rows were appended since the last anchor (checked each pass). Default `1000`. */
  everyRows?: number;
  /** Publish at least this often, even with fewer new rows. Default `1h`. */
  every?: Duration;
  /** Also send each anchor to these alert sinks (kind `audit.anchor`), e.g. `webhookAlertSink(...)`. Default: none. */
  sinks?: readonly AlertSink[];
  /** Also append each anchor as one JSON line to this file (opened in append mode each time). Default: none. */
  file?: string;
  /** Ed25519 private key (KeyObject or PEM): anchors carry a signature. Default: unsigned. */
  signingKey?: KeyObject | string;
  /** Rows per keyset page while reading the chain's head. Default `2000` (`AUDIT_PAGE_SIZE`). */
  pageSize?: number;
}

export interface AuditAnchorConfig {
  readonly everyRows: number;
  readonly everyMs: number;
  readonly sinks: readonly AlertSink[];
  readonly file: string | undefined;
  readonly signingKey: KeyObject | undefined;
  readonly pageSize: number;
}

/** Validates anchor options; throws naming the option (under `prefix`) and its value. */
export function resolveAnchorOptions(options: AuditAnchorOptions, prefix: string): AuditAnchorConfig {
  const name = (option: string) => `${prefix}.${option}`;
  if (typeof options !== 'object' || options === null) throw invalidOption(prefix, options, 'must be an object or false');
  const everyRows = options.everyRows ?? 1000;
  if (!Number.isSafeInteger(everyRows) || everyRows < 1) throw invalidOption(name('everyRows'), everyRows, 'must be an integer >= 1');
  const everyMs = parseDuration(options.every ?? '1h', name('every'));
  if (everyMs < 1000) throw invalidOption(name('every'), options.every, 'must be at least 1s');
  const sinks = options.sinks ?? [];
  if (!Array.isArray(sinks) || sinks.some((s) => typeof s !== 'object' || s === null || typeof s.send !== 'function')) {
    throw invalidOption(name('sinks'), sinks, 'must be an array of alert sinks ({ name, send() })');
  }
  const file = options.file;
  if (file !== undefined && (typeof file !== 'string' || file === '')) throw invalidOption(name('file'), file, 'must be a file path');
  const pageSize = options.pageSize ?? AUDIT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > 100_000)
    throw invalidOption(name('pageSize'), pageSize, 'must be an integer from 1 to 100000');
  const signingKey = options.signingKey === undefined ? undefined : ed25519Key(options.signingKey, 'private', name('signingKey'));
  return { everyRows, everyMs, sinks, file, signingKey, pageSize };
}
