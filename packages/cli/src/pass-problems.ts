import type { Logger } from '@keyward/core';

/** One thing a scheduler pass reported: a failure (client, step, cause) or an orphan. */
export interface PassProblem {
  readonly kind: 'failure' | 'orphan';
  readonly line: string;
}

type Fields = Record<string, unknown>;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function subject(f: Fields): string {
  const parts = [
    text(f.clientId) ? `client ${f.clientId}` : undefined,
    text(f.fingerprint) ? `key ${f.fingerprint}` : undefined,
    text(f.rotationId) ? `rotation ${f.rotationId}` : undefined,
  ].filter((p) => p !== undefined);
  return parts.length > 0 ? parts.join(', ') : 'the whole step';
}

function cause(f: Fields, message: string | undefined): string {
  const err = f.err as { message?: unknown; code?: unknown } | undefined;
  const why = text(err?.message) ?? text(f.error) ?? message ?? 'no cause given';
  return text(err?.code) && !why.includes(String(err?.code)) ? `${why} (${err?.code})` : why;
}

/**
 * The scheduler's logger, for `tick` and `scheduler`: it keeps what a pass logs as
 * failed (every `error` line: its step, client, key and cause) and every orphan it
 * found, so the CLI can print them instead of "see the log above" with no log.
 * Keys never appear in these lines: the core logs fingerprints only.
 */
export function createProblemLog(): { logger: Logger; take(): PassProblem[] } {
  let problems: PassProblem[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn(obj: object) {
      const f = obj as Fields;
      if (f.event === 'key.orphaned') problems.push({ kind: 'orphan', line: `orphan: ${String(f.problem)}: ${subject(f)}` });
    },
    error(obj: object, message?: string) {
      const f = obj as Fields;
      const step = text(f.step) ?? (f.event === 'rotation.delivery_failed' ? `deliver via ${String(f.sink)}` : 'pass');
      problems.push({ kind: 'failure', line: `failed: ${step}: ${subject(f)}: ${cause(f, message)}` });
    },
  };
  return {
    logger,
    take() {
      const taken = problems;
      problems = [];
      return taken;
    },
  };
}
