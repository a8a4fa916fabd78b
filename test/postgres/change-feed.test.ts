import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createKeyward } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchema, randomSchema, testUrl } from '../../packages/postgres/src/test-db.js';

// A verifier process caches the key in its LRU (60 s by default). The test process
// revokes it through a store that has no bus of its own: only the NOTIFY that
// PostgresStore sends inside the revoke transaction can tell the verifier in time.
const script = fileURLToPath(new URL('./fixtures/verify-loop.mjs', import.meta.url));

interface Line {
  event: 'ready' | 'rejected';
  reason?: string;
  at?: number;
  verifications?: number;
}

function lines(child: ChildProcess): (event: Line['event'], timeoutMs: number) => Promise<Line> {
  const seen: Line[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
    seen.push(JSON.parse(text) as Line);
    for (const wake of waiters.splice(0)) wake();
  });
  return async (event, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = seen.find((l) => l.event === event);
      if (found) return found;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no "${event}" line from the verifier within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  };
}

describe('revocation reaches another process through PostgreSQL LISTEN/NOTIFY', () => {
  const schema = randomSchema('kwfeed');
  beforeAll(async () => {
    const setup = new PostgresStore({ connectionString: testUrl(), schema });
    await setup.migrate();
    await setup.close();
  });
  afterAll(() => dropSchema(schema));

  it('the verifier process sees "revoked" within 1 second of the revoke', async () => {
    const store = new PostgresStore({ connectionString: testUrl(), schema });
    const admin = createKeyward({ store, prefix: 'sk_test' });
    const issued = await admin.issue('acme');
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, DATABASE_URL: testUrl(), KW_SCHEMA: schema, KW_KEY: issued.key },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const next = lines(child);
      await next('ready', 20_000);
      // Let the verifier answer from its LRU for a while first.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const revokedAt = Date.now();
      await admin.revoke(issued.id, { reason: 'compromised' });
      const seen = await next('rejected', 5000);
      const latency = (seen.at as number) - revokedAt;
      expect(seen.reason).toBe('revoked');
      expect(seen.verifications).toBeGreaterThan(10);
      expect(latency).toBeLessThan(1000);
      console.log(`verifier saw the revocation ${latency} ms after revoke() was called`);
    } finally {
      child.kill('SIGKILL');
      await admin.close();
      await store.close();
    }
  });
});
