import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The fenced sh block right after a `<!-- marker -->` comment in README.md. */
function block(marker: string): string {
  const at = readme.indexOf(`<!-- ${marker} -->`);
  if (at < 0) throw new Error(`README.md has no <!-- ${marker} --> block`);
  const start = readme.indexOf('```sh\n', at) + '```sh\n'.length;
  return readme.slice(start, readme.indexOf('```', start));
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('KEYWARD_')) env[name] = value;
  return { ...env, ...extra };
}

describe('README', () => {
  it('the five-minute tour runs as written, and every step says what the README says', async () => {
    expect(existsSync(join(root, 'packages/cli/dist/cli.js')), 'build the packages first').toBe(true);
    const script = block('tour');
    const port = await freePort();
    const output = await new Promise<string>((done, fail) => {
      execFile(
        'bash',
        ['-euo', 'pipefail', '-c', script],
        { cwd: root, env: cleanEnv({ PORT: String(port) }), timeout: 90_000 },
        (error, stdout, stderr) => {
          if (error) fail(new Error(`the tour failed: ${error.message}\n${stdout}\n${stderr}`));
          else done(`${stdout}\n${stderr}`);
        },
      );
    });
    const fingerprint = /issued key ([0-9a-f]{8}) for acme/.exec(output)?.[1];
    expect(fingerprint, output).toBeDefined();
    expect(output).toMatch(/schema migrated from version 0 to \d+/);
    expect(output).toContain('{"client":"acme","orders":[{"id":1,"item":"coffee"}]}'); // first call, with the key
    expect(output).toMatch(/rotated acme: new key [0-9a-f]{8} \(pending\); old key [0-9a-f]{8} works until/);
    expect(output).toMatch(/HTTP\/1\.1 200 OK\s+Sunset: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT\s+Deprecation: @\d+/);
    expect(output.split('{"client":"acme"').length - 1).toBe(2); // the old key during grace printed headers only; the new key's body
    expect(output).toContain('"error":"api_key_expired"');
    expect(output).toContain(`alert: inactive key ${fingerprint} of acme used from 127.0.0.1`);
    expect(output).toMatch(/FINGERPRINT\s+CLIENT\s+STATUS/);
    // After the grace, before any tick: the effective statuses, marked with * (the stored ones catch up at the next tick).
    expect(output).toMatch(/\s+acme\s+inactive\*\s+/);
    expect(output).toMatch(/\s+acme\s+active\*\s+/);
    expect(output).toMatch(/key\.issued\s+acme/);
    expect(output).toMatch(/key\.rotated\s+acme/);
    expect(output).toMatch(/audit chain intact: \d+ rows/);
    expect(output).not.toMatch(/sk_live_\w{49}/); // the keys stayed in shell variables
    expect(existsSync(join(root, 'tour.db'))).toBe(false);
  });

  it('the demo starts the example API on the embedded default with a key to try', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-demo-'));
    const port = await freePort();
    const api = spawn(process.execPath, ['examples/express/server.mjs'], {
      cwd: root,
      env: cleanEnv({ PORT: String(port), KEYWARD_DEMO_DATABASE: join(dir, 'demo.db') }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    api.stdout.on('data', (chunk) => {
      text += String(chunk);
    });
    try {
      const deadline = Date.now() + 20_000;
      while (!text.includes('Try:')) {
        if (Date.now() > deadline) throw new Error(`the demo did not start:\n${text}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const key = /Issued a key for client "demo" \(shown once, keep it\): (sk_live_\w{49})/.exec(text)?.[1];
      expect(key, text).toBeDefined();
      expect(text).toContain(`-H "Authorization: Bearer ${key}"`); // the curl to copy carries the key
      const ok = await fetch(`http://127.0.0.1:${port}/orders`, { headers: { authorization: `Bearer ${key}` } });
      expect(ok.status).toBe(200);
      const missing = await fetch(`http://127.0.0.1:${port}/orders`);
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    } finally {
      api.kill('SIGTERM');
      await new Promise((r) => api.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
