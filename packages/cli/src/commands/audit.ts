import { verifyAuditRows } from '@keyward/core';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { OperationError } from '../errors.js';
import { when } from '../output.js';
import { parseSince } from '../parse.js';

export function registerAudit(program: Command, run: CommandContext['run']): void {
  program
    .command('audit')
    .description('print the audit trail; --verify checks its hash chain')
    .option('--client <id>', 'only this client')
    .option('--since <time>', 'ISO date/time, or a duration ago (24h, 7d)')
    .option('--verify', 'check the hash chain; exit 1 at the first broken link')
    .action((flags: { client?: string; since?: string; verify?: boolean }) =>
      run(async ({ keyward, out }) => {
        const since = parseSince(flags.since, keyward.config.clock.now());
        if (flags.verify) {
          const report = verifyAuditRows(await keyward.store.listAudit({}));
          if (out.json) out.data(report);
          if (!report.ok) {
            throw new OperationError(
              `audit chain broken at row #${report.brokenAt}: ${report.problem === 'edited' ? 'the row was edited' : 'a row before it was deleted, inserted or reordered'} (${report.count} rows intact before it)`,
            );
          }
          if (!out.json) out.info(`audit chain intact: ${report.count} rows`);
          return;
        }
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
