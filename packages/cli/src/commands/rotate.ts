import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { iso, when } from '../output.js';
import { checkDuration, parseActor, parseReason, parseTtl } from '../parse.js';

export function registerRotate(program: Command, run: CommandContext['run']): void {
  program
    .command('rotate')
    .description("rotate a client's key: prints the new key; the old one works until the grace ends")
    .argument('<client>', 'client id')
    .option('--grace <duration>', 'how long the old key keeps working; must end before the new key expires (default: 48h)')
    .option('--ttl <duration>', 'lifetime of the new key, e.g. 30d; "never" for no expiry (default: 30d)')
    .option('--key <fingerprint>', 'which active key, when the client has several (fingerprint, longer hash prefix or key id)')
    .option('--reason <text>', 'why (audit trail)')
    .option('--actor <name>', 'who is rotating (audit trail; default cli:$USER)')
    .action((client: string, flags: { grace?: string; ttl?: string; key?: string; reason?: string; actor?: string }) =>
      run(async ({ keyward, out, resolveKey }) => {
        const grace = checkDuration(flags.grace, '--grace');
        const ttl = parseTtl(flags.ttl);
        const reason = parseReason(flags.reason);
        const actor = parseActor(flags.actor);
        const keyId = flags.key === undefined ? undefined : (await resolveKey(flags.key, client)).id;
        const rotation = await keyward.rotate(client, { grace, ttl, keyId, reason, actor });
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
            `rotated ${rotation.clientId}: new key ${rotation.fingerprint} (pending); old key ${rotation.oldFingerprint} works until ${when(rotation.graceUntil)}; the new key expires ${when(rotation.expiresAt, 'never')}. The key is shown once.`,
          );
        }
      }),
    );
}
