import type { KeyRecord, Keyward } from '@keyward/core';
import { type Connection, connect } from './connect.js';
import { describeError, exitCodeFor, OperationError, UsageError } from './errors.js';
import { watchNotShared } from './not-shared.js';
import type { Output } from './output.js';

export interface GlobalFlags {
  database?: string;
  redis?: string;
  json?: boolean;
}

export interface RunContext {
  keyward: Keyward;
  connection: Connection;
  out: Output;
  /** Finds exactly one key by fingerprint (or a unique prefix of one), optionally of one client. */
  resolveKey(fingerprint: string, clientId?: string): Promise<KeyRecord>;
}

export interface CommandContext {
  /** `migrate: false` opens the store without creating or upgrading its schema (doctor). */
  run(body: (ctx: RunContext) => Promise<void>, options?: { migrate?: boolean }): Promise<void>;
}

const FINGERPRINT = /^[0-9a-f]{4,8}$/;

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
        const resolveKey = async (fingerprint: string, clientId?: string): Promise<KeyRecord> => {
          const prefix = fingerprint.toLowerCase();
          if (!FINGERPRINT.test(prefix)) throw new UsageError(`a fingerprint is 4 to 8 hex characters; got ${JSON.stringify(fingerprint)}`);
          const matches = (await keyward.store.findKeysByFingerprint(prefix)).filter(
            (k) => clientId === undefined || k.clientId === clientId,
          );
          if (matches.length === 0)
            throw new OperationError(`no key with fingerprint ${prefix}${clientId ? ` for client ${clientId}` : ''}`);
          if (matches.length > 1) {
            throw new UsageError(
              `fingerprint ${prefix} matches ${matches.length} keys (${matches.map((k) => `${k.fingerprint} of ${k.clientId}`).join(', ')}); give more characters`,
            );
          }
          return matches[0] as KeyRecord;
        };
        const notShared = watchNotShared(keyward, out);
        try {
          await body({ keyward, connection, out: notShared.out, resolveKey });
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
