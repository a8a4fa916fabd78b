// A child Node process that talks in JSON lines: it writes one JSON object per line on
// stdout, and reads commands as JSON lines on stdin. Closing its stdin asks it to shut
// down (see `onParentMessages` below, used by the child scripts), so a child never
// outlives a parent that died. Shared by bench/http.mjs and bench/redis.mjs.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One child process and the messages it sent. */
export class JsonChild {
  /**
   * @param {string} script  path of the .mjs to run
   * @param {string[]} args  its arguments
   * @param {{ env?: NodeJS.ProcessEnv, execArgv?: string[], name?: string, onMessage?: (m: object) => boolean | undefined }} [options]
   *   `onMessage` sees every message first; returning `true` consumes it (it is then not queued for `next`).
   */
  constructor(script, args = [], options = {}) {
    this.name = options.name ?? script;
    this.messages = [];
    this.waiters = [];
    this.stderr = '';
    this.exited = new Promise((resolve) => {
      this.child = spawn(process.execPath, [...(options.execArgv ?? []), script, ...args], {
        env: { ...process.env, ...options.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      this.child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.wake();
        resolve({ code, signal });
      });
    });
    this.child.stdin.on('error', () => {}); // the child may be gone already
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        message = { type: 'text', line };
      }
      if (options.onMessage?.(message) !== true) this.messages.push(message);
      this.wake();
    });
  }

  wake() {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves with (and removes) the first message of `type`; rejects on an `error` message, an exit or a timeout. */
  async next(type, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const failed = this.messages.find((m) => m.type === 'error');
      if (failed) throw new Error(`${this.name}: ${failed.message}`);
      const index = this.messages.findIndex((m) => m.type === type);
      if (index !== -1) return this.messages.splice(index, 1)[0];
      if (this.exitCode !== undefined) throw new Error(`${this.name} exited (code ${this.exitCode}) before "${type}"\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name} sent no "${type}" within ${timeoutMs} ms\n${this.stderr}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(message) {
    if (this.child.stdin.writable) this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  /** Asks the child to shut down (closes its stdin); kills it if it has not exited after `graceMs`. */
  async stop(graceMs = 10_000) {
    if (this.exitCode === undefined) this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/**
 * In a child script: calls `onMessage` for each JSON line from the parent, and `onEnd`
 * once when the parent closes stdin (or dies).
 */
export function onParentMessages(onMessage, onEnd) {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() !== '') onMessage(JSON.parse(line));
  });
  lines.once('close', onEnd);
}

/** In a child script: writes one message to the parent. */
export function tell(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Nearest-rank percentile of an ascending array. */
export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((sorted.length * p) / 100) - 1))];
