import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every piece of text a lifecycle produced, by channel (pino lines, events, audit
 * rows, database dump, error messages, HTTP responses...), so a leak can be named.
 */
export class Capture {
  readonly channels = new Map<string, string[]>();

  add(channel: string, value: unknown): void {
    const text = typeof value === 'string' ? value : JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    let list = this.channels.get(channel);
    if (!list) {
      list = [];
      this.channels.set(channel, list);
    }
    list.push(text ?? String(value));
  }

  /** Records every observable part of an error: name, message, code, details, cause and stack. */
  addError(channel: string, error: unknown): void {
    if (!(error instanceof Error)) {
      this.add(channel, String(error));
      return;
    }
    const { name, message, stack } = error;
    const extra = { ...(error as unknown as Record<string, unknown>) };
    this.add(channel, { name, message, stack, extra, cause: error.cause === undefined ? undefined : String(error.cause) });
  }

  text(channel: string): string {
    return (this.channels.get(channel) ?? []).join('\n');
  }

  all(): string {
    return [...this.channels.keys()].map((c) => this.text(c)).join('\n');
  }

  /**
   * Where any of `keys` (or its random body alone) appears: one line per hit naming
   * the channel and the key's fingerprint, never the key itself.
   */
  leaks(keys: ReadonlyMap<string, string>): string[] {
    const hits: string[] = [];
    for (const [channel, texts] of this.channels) {
      const text = texts.join('\n');
      for (const [key, fingerprint] of keys) {
        const body = keyBody(key);
        if (text.includes(key)) hits.push(`${channel}: key ${fingerprint}`);
        else if (text.includes(body)) hits.push(`${channel}: body of key ${fingerprint}`);
      }
    }
    return hits;
  }
}

/** Length of a key's random body (32 bytes in base62), as in core's key-format.ts. */
const BODY_LENGTH = 43;

/** The 43-char random body of a key `<prefix>_<body><checksum>`. */
export function keyBody(key: string): string {
  const start = key.lastIndexOf('_') + 1;
  return key.slice(start, start + BODY_LENGTH);
}

/**
 * The event names of `KeywardEvents`, read from the core's source so that a new
 * event is captured by this test the day it is added.
 */
export function keywardEventNames(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const source = readFileSync(join(here, '..', '..', 'packages', 'core', 'src', 'events.ts'), 'utf8');
  const start = source.indexOf('export interface KeywardEvents');
  const end = source.indexOf('\n}', start);
  const names = [...source.slice(start, end).matchAll(/^\s+'([a-z_]+\.[a-z_]+)':/gm)].map((m) => m[1] as string);
  return [...new Set(names)];
}
