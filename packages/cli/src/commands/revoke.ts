import { ErrorCodes, isKeywardError, type KeyRecord } from '@keyward/core';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { parseActor, parseReason } from '../parse.js';

export function registerRevoke(program: Command, run: CommandContext['run']): void {
  program
    .command('revoke')
    .description('revoke a key at once, by its fingerprint (or a unique prefix of it), a longer prefix of its hash, or its key id')
    .argument('<key>', "the key's fingerprint as `keyward list` shows it, a longer hash prefix, or its key id")
    .requiredOption('--reason <text>', 'why (required: it goes to the audit trail)')
    .option('--client <id>', 'only keys of this client (when fingerprints collide)')
    .option('--actor <name>', 'who is revoking (audit trail; default cli:$USER)')
    .action((reference: string, flags: { reason: string; client?: string; actor?: string }) =>
      run(async ({ keyward, out, resolveKey }) => {
        const reason = parseReason(flags.reason, true) as string;
        const actor = parseActor(flags.actor);
        const key = await resolveKey(reference, flags.client);
        let revoked: KeyRecord = key;
        let already = key.status === 'revoked';
        if (!already) {
          try {
            revoked = await keyward.revoke(key.id, { reason, actor });
          } catch (error) {
            // Revoked by someone else meanwhile: the wanted state is reached, as for a second revoke.
            const current = await keyward.store.findKeyById(key.id);
            const raced = isKeywardError(error, ErrorCodes.ILLEGAL_TRANSITION) || isKeywardError(error, ErrorCodes.CONFLICT);
            if (!raced || current?.status !== 'revoked') throw error;
            revoked = current;
            already = true;
          }
        }
        const json = { fingerprint: revoked.fingerprint, clientId: revoked.clientId, keyId: revoked.id, status: revoked.status };
        if (out.json) out.data({ ...json, alreadyRevoked: already });
        else if (already)
          out.info(
            `key ${revoked.fingerprint} of ${revoked.clientId} is already revoked (${revoked.revokedReason ?? 'no reason given'}); nothing to do`,
          );
        else out.info(`revoked key ${revoked.fingerprint} of ${revoked.clientId} (was ${key.status})`);
      }),
    );
}
