import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { when } from '../output.js';
import { checkDuration } from '../parse.js';
import { defaultActor, iso } from './issue.js';

export function registerRotate(program: Command, run: CommandContext['run']): void {
  program
    .command('rotate')
    .description("rotate a client's key: prints the new key; the old one works until the grace ends")
    .argument('<client>', 'client id')
    .option('--grace <duration>', 'how long the old key keeps working (default: 48h)')
    .option('--key <fingerprint>', 'which active key, when the client has several')
    .option('--reason <text>', 'why (audit trail)')
    .option('--actor <name>', 'who is rotating (audit trail)')
    .action((client: string, flags: { grace?: string; key?: string; reason?: string; actor?: string }) =>
      run(async ({ keyward, out, resolveKey }) => {
        const grace = checkDuration(flags.grace, '--grace');
        const keyId = flags.key === undefined ? undefined : (await resolveKey(flags.key, client)).id;
        const rotation = await keyward.rotate(client, { grace, keyId, reason: flags.reason, actor: flags.actor ?? defaultActor() });
        if (out.json) {
          out.data({
            key: rotation.key,
            fingerprint: rotation.fingerprint,
            clientId: rotation.clientId,
            keyId: rotation.newKeyId,
            expiresAt: iso(rotation.expiresAt),
            rotationId: rotation.rotationId,
            graceUntil: iso(rotation.graceUntil),
            oldFingerprint: rotation.oldFingerprint,
          });
        } else {
          out.result(rotation.key as string);
          out.info(
            `rotated ${rotation.clientId}: new key ${rotation.fingerprint} (pending); old key ${rotation.oldFingerprint} works until ${when(rotation.graceUntil)}. The key is shown once.`,
          );
        }
      }),
    );
}
