import type { KeyRecord, Keyward } from '@keyward/core';
import { type Connection, connect } from './connect.js';
import { describeError, exitCodeFor } from './errors.js';
import { watchNotShared } from './not-shared.js';
import type { Output } from './output.js';
import { resolveKey } from './resolve-key.js';

export interface GlobalFlags {
  database?: string;
  redis?: string;
  json?: boolean;
}

export interface RunContext {
  keyward: Keyward;
  connection: Connection;
  out: Output;
  /** Finds exactly one key by fingerprint, longer hash prefix or key id, optionally of one client (see resolve-key.ts). */
  resolveKey(fingerprint: string, clientId?: string): Promise<KeyRecord>;
}

export interface CommandContext {
  /** `migrate: false` opens the store without creating or upgrading its schema (doctor). */
  run(body: (ctx: RunContext) => Promise<void>, options?: { migrate?: boolean }): Promise<void>;
}

/**
 * Wraps a command body: opens the store from flags/environment, runs the body,
 * reports any error as one line on stderr with the right exit code, and closes
 * every connection so the process exits by itself.
 */
export function createCommandContext(
  globals: () => GlobalFlags,
  env: NodeJS.ProcessEnv,
  output: (json: boolean) => Output,
  setExitCode: (code: number) => void,
): CommandContext {
  return {
    async run(body, options = {}) {
      const flags = globals();
      const out = output(flags.json === true);
      let connection: Connection | undefined;
      try {
        connection = await connect({ database: flags.database, redis: flags.redis, env, ...options });
        const { keyward } = connection;
        const resolveKeyOf = (reference: string, clientId?: string) => resolveKey(keyward.store, reference, clientId);
        const notShared = watchNotShared(keyward, out);
        try {
          await body({ keyward, connection, out: notShared.out, resolveKey: resolveKeyOf });
        } finally {
          notShared.stop();
          notShared.report();
        }
      } catch (error) {
        out.info(`keyward: ${describeError(error)}`);
        setExitCode(exitCodeFor(error));
      } finally {
        await connection?.close().catch(() => {});
      }
    },
  };
}
