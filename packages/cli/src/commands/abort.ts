import { OPEN_ROTATION_STATES } from '@keyward/core';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { OperationError } from '../errors.js';
import { parseActor, parseReason } from '../parse.js';

export function registerAbort(program: Command, run: CommandContext['run']): void {
  program
    .command('abort')
    .description("cancel a client's rotation in progress: the old key stays active, the new one is revoked")
    .argument('<client>', 'client id')
    .option('--reason <text>', 'why (audit trail; default "aborted by operator")')
    .option('--actor <name>', 'who is aborting (audit trail; default cli:$USER)')
    .action((client: string, flags: { reason?: string; actor?: string }) =>
      run(async ({ keyward, out }) => {
        const reason = parseReason(flags.reason) ?? 'aborted by operator';
        const actor = parseActor(flags.actor);
        const [rotation] = await keyward.store.listRotations({ clientId: client, state: OPEN_ROTATION_STATES, limit: 1 });
        if (!rotation) throw new OperationError(`client ${client} has no rotation in progress`);
        const [oldKey, newKey] = await Promise.all([
          keyward.store.findKeyById(rotation.oldKeyId),
          keyward.store.findKeyById(rotation.newKeyId),
        ]);
        await keyward.abort(rotation.id, { reason, actor });
        const result = {
          rotationId: rotation.id,
          clientId: client,
          keptFingerprint: oldKey?.fingerprint ?? null,
          revokedFingerprint: newKey?.fingerprint ?? null,
        };
        if (out.json) out.data(result);
        else
          out.info(
            `aborted rotation ${rotation.id} of ${client}: old key ${result.keptFingerprint ?? '(gone)'} stays active, new key ${result.revokedFingerprint ?? '(gone)'} is revoked`,
          );
      }),
    );
}
