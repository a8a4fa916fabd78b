import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Child scripts import the built packages; fail with a clear message instead of a resolution error. */
export function requireBuilt(): void {
  for (const pkg of ['core', 'sqlite']) {
    if (!existsSync(`${root}packages/${pkg}/dist/index.js`)) {
      throw new Error(`packages/${pkg}/dist is missing: run \`pnpm --filter @keyward/${pkg} build\` (pnpm test builds first)`);
    }
  }
}

export type Message = Record<string, unknown>;

/** A child node process speaking JSON lines on stdout and taking lines on stdin. */
export class Child {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly messages: Message[] = [];
  readonly stderr: string[] = [];
  private waiters: (() => void)[] = [];
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(script: string, args: readonly string[]) {
    this.proc = spawn(process.execPath, [fileURLToPath(new URL(`./fixtures/${script}`, import.meta.url)), ...args], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      try {
        this.messages.push(JSON.parse(line) as Message);
      } catch {
        this.stderr.push(`(stdout) ${line}`);
      }
      this.wake();
    });
    this.proc.stderr.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
    this.proc.on('exit', (code, signal) => {
      this.exited = { code, signal };
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the first message (from index `from`) matching `test`; rejects on timeout or exit. */
  async waitFor(test: (m: Message) => boolean, timeoutMs = 10_000, from = 0): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(test);
      if (found) return found;
      if (this.exited)
        throw new Error(`child exited (${JSON.stringify(this.exited)}) before the expected message; stderr: ${this.stderr.join('')}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for a child message; got ${JSON.stringify(this.messages.slice(-5))}; stderr: ${this.stderr.join('')}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  /** Kills the process (SIGKILL by default) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill(signal);
    await gone;
  }
}
