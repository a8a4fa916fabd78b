import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { defaultActor } from './issue.js';

export function registerRevoke(program: Command, run: CommandContext['run']): void {
  program
    .command('revoke')
    .description('revoke a key at once, by its fingerprint (or a unique prefix of it)')
    .argument('<fingerprint>', "the key's fingerprint, as `keyward list` shows it")
    .requiredOption('--reason <text>', 'why (required: it goes to the audit trail)')
    .option('--actor <name>', 'who is revoking (audit trail)')
    .action((fingerprint: string, flags: { reason: string; actor?: string }) =>
      run(async ({ keyward, out, resolveKey }) => {
        if (flags.reason.trim() === '') throw new UsageError('--reason must not be empty');
        const key = await resolveKey(fingerprint);
        const revoked = await keyward.revoke(key.id, { reason: flags.reason, actor: flags.actor ?? defaultActor() });
        if (out.json) out.data({ fingerprint: revoked.fingerprint, clientId: revoked.clientId, keyId: revoked.id, status: revoked.status });
        else out.info(`revoked key ${revoked.fingerprint} of ${revoked.clientId} (was ${key.status})`);
      }),
    );
}
