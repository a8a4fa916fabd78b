import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { when } from '../output.js';
import { parseSince } from '../parse.js';
import { exportAudit } from './audit-export.js';
import { type AuditVerifyFlags, verifyAudit } from './audit-verify.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface AuditFlags extends AuditVerifyFlags {
  client?: string;
  since?: string;
  verify?: boolean;
  export?: string;
}

export function registerAudit(program: Command, run: CommandContext['run']): void {
  program
    .command('audit')
    .description('print the audit trail; --verify checks its hash chain (and anchors); --export writes it as JSONL')
    .option('--client <id>', 'only this client')
    .option('--since <time>', 'ISO date/time, or a duration ago (24h, 7d)')
    .option('--verify', 'check the hash chain; exit 1 at the first broken link or failed anchor')
    .option('--anchor <seq:hash>', 'a published head to check (repeatable; implies --verify)', collect)
    .option('--anchors <file>', 'published anchor lines (pino log, webhook bodies, anchor file); implies --verify')
    .option('--anchor-key <file>', 'Ed25519 public key (PEM): every anchor must carry a valid signature')
    .option('--export <file>', 'write the whole trail as JSONL with its hashes (- for stdout), for offline checks')
    .action((flags: AuditFlags) =>
      run(async ({ keyward, out }) => {
        const verify = flags.verify === true || flags.anchor !== undefined || flags.anchors !== undefined;
        if ((verify || flags.export !== undefined) && (flags.client !== undefined || flags.since !== undefined)) {
          throw new UsageError('--verify, --anchor(s) and --export cover the whole trail: drop --client and --since');
        }
        if (verify && flags.export !== undefined) throw new UsageError('--export and --verify are separate runs: pick one');
        if (flags.anchorKey !== undefined && !verify) throw new UsageError('--anchor-key goes with --anchor or --anchors');
        if (verify) return verifyAudit(keyward, out, flags);
        if (flags.export !== undefined) return exportAudit(keyward, out, flags.export);
        const since = parseSince(flags.since, keyward.config.clock.now());
        const rows = await keyward.store.listAudit({ clientId: flags.client, since });
        if (out.json) {
          out.data(rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() })));
          return;
        }
        out.table(
          rows.map((r) => ({
            seq: String(r.seq),
            at: when(r.at),
            event: r.type,
            client: r.clientId ?? '-',
            fingerprint: r.fingerprint ?? '-',
            actor: r.actor ?? '-',
            reason: r.reason ?? '',
          })),
          ['seq', 'at', 'event', 'client', 'fingerprint', 'actor', 'reason'],
        );
      }),
    );
}
