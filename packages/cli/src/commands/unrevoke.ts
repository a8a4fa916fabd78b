import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { parseActor, parseReason } from '../parse.js';

export function registerUnrevoke(program: Command, run: CommandContext['run']): void {
  program
    .command('unrevoke')
    .description('undo a mistaken revoke within the unrevoke window (default 60 min); never for a key revoked as leaked or compromised')
    .argument('<key>', "the key's fingerprint as `keyward list` shows it, a longer hash prefix, or its key id")
    .requiredOption('--reason <text>', 'why the revoke was a mistake (required: it goes to the audit trail)')
    .option('--client <id>', 'only keys of this client (when fingerprints collide)')
    .option('--actor <name>', 'who is undoing it (audit trail; default cli:$USER)')
    .action((reference: string, flags: { reason: string; client?: string; actor?: string }) =>
      run(async ({ keyward, out, resolveKey }) => {
        const reason = parseReason(flags.reason, true) as string;
        const actor = parseActor(flags.actor);
        const key = await resolveKey(reference, flags.client);
        const restored = await keyward.unrevoke(key.id, { reason, actor });
        if (out.json)
          out.data({ fingerprint: restored.fingerprint, clientId: restored.clientId, keyId: restored.id, status: restored.status });
        else
          out.info(
            `unrevoked key ${restored.fingerprint} of ${restored.clientId}: it is ${restored.status} again, in every process within about a second`,
          );
      }),
    );
}
