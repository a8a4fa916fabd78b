import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { parseActor } from '../parse.js';
import { sinkFrom } from '../scheduler-setup.js';

/** Reads every line of `input` (the keys, one per line; never argv, where `ps` and shell history would keep them). */
async function readLines(input: NodeJS.ReadableStream): Promise<string[]> {
  let text = '';
  for await (const chunk of input) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

export function registerLeak(program: Command, run: CommandContext['run'], stdin: NodeJS.ReadableStream & { isTTY?: boolean }): void {
  program
    .command('leak')
    .description(
      'report leaked keys (read from stdin, one per line): each one still accepted is revoked now; one line per key, by fingerprint',
    )
    .requiredOption('--source <url>', 'where the keys were found (audit trail)')
    .option('--policy <policy>', '"revoke" (default), or "rotate": deliver a successor (--sink-dir or --webhook), then revoke')
    .option('--sink-dir <dir>', 'with --policy rotate: deliver the successor as a 0600 file in this directory')
    .option('--webhook <url>', 'with --policy rotate: deliver the successor to this URL (secret in KEYWARD_WEBHOOK_SECRET)')
    .option('--actor <name>', 'who reports it (audit trail; default cli:$USER)')
    .action((flags: { source: string; policy?: string; sinkDir?: string; webhook?: string; actor?: string }) =>
      run(async ({ keyward, out, connection }) => {
        const policy = flags.policy ?? 'revoke';
        if (policy !== 'revoke' && policy !== 'rotate')
          throw new UsageError(`--policy must be "revoke" or "rotate"; got ${JSON.stringify(policy)}`);
        const sink = sinkFrom(flags, connection.env);
        if (policy === 'rotate' && sink === undefined)
          throw new UsageError('--policy rotate needs --sink-dir or --webhook to deliver the successor');
        if (stdin.isTTY) throw new UsageError('pipe the leaked keys on stdin, one per line (never as arguments)');
        const tokens = await readLines(stdin);
        if (tokens.length === 0) throw new UsageError('no keys on stdin');
        const actor = parseActor(flags.actor);
        const results = await keyward.reportLeak(tokens, {
          source: flags.source,
          policy,
          ...(sink ? { sink } : {}),
          ...(actor ? { actor } : {}),
        });
        if (out.json) {
          out.data(results.map(({ fingerprint, label, outcome, clientId }) => ({ fingerprint, label, outcome, clientId })));
          return;
        }
        for (const r of results) {
          const who = r.clientId === null ? '' : ` of ${r.clientId}`;
          out.info(`${r.fingerprint}${who}: ${r.outcome.replace('_', ' ')} (${r.label.replace('_', ' ')})`);
        }
      }),
    );
}
