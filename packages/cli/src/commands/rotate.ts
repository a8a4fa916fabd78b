import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { iso, when } from '../output.js';
import { checkDuration, parseActor, parseReason, parseTtl } from '../parse.js';

function parseGraceFrom(value: string | undefined): 'rotation' | 'first-use' | undefined {
  if (value === undefined || value === 'rotation' || value === 'first-use') return value;
  throw new UsageError(`--grace-from must be "rotation" or "first-use"; got ${JSON.stringify(value)}`);
}

export function registerRotate(program: Command, run: CommandContext['run']): void {
  program
    .command('rotate')
    .description("rotate a client's key: prints the new key; the old one works until the grace ends")
    .argument('<client>', 'client id')
    .option('--grace <duration>', 'how long the old key keeps working; must end before the new key expires (default: 48h)')
    .option(
      '--grace-from <when>',
      'what starts the grace: "rotation" (now, the default) or "first-use" (the new key\'s first use, bounded by --max-wait)',
    )
    .option('--max-wait <duration>', "with --grace-from first-use: the longest the old key waits for the new key's first use (default: 7d)")
    .option('--ttl <duration>', 'lifetime of the new key, e.g. 30d; "never" for no expiry (default: 30d)')
    .option('--key <fingerprint>', 'which active key, when the client has several (fingerprint, longer hash prefix or key id)')
    .option('--reason <text>', 'why (audit trail)')
    .option('--actor <name>', 'who is rotating (audit trail; default cli:$USER)')
    .action(
      (
        client: string,
        flags: { grace?: string; graceFrom?: string; maxWait?: string; ttl?: string; key?: string; reason?: string; actor?: string },
      ) =>
        run(async ({ keyward, out, resolveKey }) => {
          const grace = checkDuration(flags.grace, '--grace');
          const graceFrom = parseGraceFrom(flags.graceFrom);
          const maxWait = checkDuration(flags.maxWait, '--max-wait');
          if (maxWait !== undefined && graceFrom !== 'first-use') throw new UsageError('--max-wait needs --grace-from first-use');
          const ttl = parseTtl(flags.ttl);
          const reason = parseReason(flags.reason);
          const actor = parseActor(flags.actor);
          const keyId = flags.key === undefined ? undefined : (await resolveKey(flags.key, client)).id;
          const rotation = await keyward.rotate(client, { grace, graceFrom, maxWait, ttl, keyId, reason, actor });
          if (out.json) {
            out.data({
              key: rotation.key,
              fingerprint: rotation.fingerprint,
              clientId: rotation.clientId,
              keyId: rotation.newKeyId,
              expiresAt: iso(rotation.expiresAt),
              rotationId: rotation.rotationId,
              graceUntil: iso(rotation.graceUntil),
              graceFrom: graceFrom ?? 'rotation',
              oldFingerprint: rotation.oldFingerprint,
            });
          } else {
            out.result(rotation.key as string);
            const until =
              graceFrom === 'first-use'
                ? `until the new key's first use plus the grace, at the latest ${when(rotation.graceUntil)}`
                : `until ${when(rotation.graceUntil)}`;
            out.info(
              `rotated ${rotation.clientId}: new key ${rotation.fingerprint} (pending); old key ${rotation.oldFingerprint} works ${until}; the new key expires ${when(rotation.expiresAt, 'never')}. The key is shown once.`,
            );
          }
        }),
    );
}
