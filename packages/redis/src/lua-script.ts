import { createHash } from 'node:crypto';
import type { RedisClient } from './options.js';

/**
 * A Lua script run with EVALSHA, falling back to EVAL once when the server does not know it
 * (NOSCRIPT: first use, a restart, a failover). It never mutates the client (no
 * `defineCommand` on an injected client). Every script touches one key, so it runs on Cluster.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
