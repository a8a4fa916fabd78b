/**
 * Output conventions: the key (or the JSON document) alone on stdout, everything
 * else on stderr, so `KEY=$(keyward issue acme)` works; a table for people, JSON
 * for scripts; a progress bar on stderr only when stderr is a terminal.
 */
export interface Output {
  readonly json: boolean;
  /** The result: stdout. */
  result(text: string): void;
  /** A JSON result: stdout, one document. */
  data(value: unknown): void;
  /** Everything for people: stderr. */
  info(text: string): void;
  table(rows: readonly Record<string, string>[], columns: readonly string[]): void;
  progress(total: number): (done: number) => void;
}

export interface Streams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export function createOutput(json: boolean, streams: Streams): Output {
  const { stdout, stderr } = streams;
  return {
    json,
    result: (text) => stdout.write(`${text}\n`),
    data: (value) => stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    info: (text) => stderr.write(`${text}\n`),
    table(rows, columns) {
      if (rows.length === 0) {
        stderr.write('(none)\n');
        return;
      }
      const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
      const line = (cells: readonly string[]) =>
        cells
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd();
      stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
      for (const row of rows) stdout.write(`${line(columns.map((c) => row[c] ?? ''))}\n`);
    },
    progress(total) {
      if (!stderr.isTTY || total < 20) return () => {};
      const width = Math.max(10, Math.min(40, (stderr.columns ?? 80) - 20));
      return (done) => {
        const filled = Math.round((done / total) * width);
        stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${done >= total ? '\n' : ''}`);
      };
    },
  };
}

export { iso, when } from './output-time.js';
