import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { OperationError } from '../errors.js';
import { createProblemLog } from '../pass-problems.js';
import { createScheduler, describePassWithProblems, type SchedulerFlags } from '../scheduler-setup.js';

function schedulerOptions(command: Command): Command {
  return command
    .option('--sink-dir <dir>', 'deliver rotated keys as 0600 files in this directory')
    .option('--webhook <url>', 'deliver rotated keys to this URL (signing secret in KEYWARD_WEBHOOK_SECRET)')
    .option('--rotate-before <duration>', 'rotate keys this close to expiry (default: 7d)')
    .option('--grace-from <when>', 'what starts the old key\'s grace: "first-use" (default: the new key\'s first use) or "rotation"');
}

export function registerTick(program: Command, run: CommandContext['run']): void {
  schedulerOptions(program.command('tick'))
    .description('run one scheduler pass: rotate due keys, finalize, purge, flag orphans')
    .action((flags: SchedulerFlags) =>
      run(async ({ keyward, connection, out }) => {
        const problems = createProblemLog();
        const { scheduler, close } = await createScheduler(keyward, flags, connection.env, problems.logger);
        try {
          const now = keyward.config.clock.now();
          const due = await keyward.store.listKeys({ status: ['active'], expiresBefore: now + scheduler.config.rotateBeforeMs });
          const step = out.progress(due.length);
          let done = 0;
          scheduler.on('delivered', () => step(++done));
          const report = await scheduler.tick();
          const found = problems.take();
          if (out.json) out.data({ ...report, problems: found.map((p) => p.line) });
          else out.info(describePassWithProblems(report, found));
          if (!report.ok) throw new OperationError('the pass did not complete every step (the failed steps are listed above)');
          if (report.failed > 0) throw new OperationError(`${report.failed} operation(s) failed in this pass (listed above)`);
        } finally {
          await close();
        }
      }),
    );
}

export function registerScheduler(program: Command, run: CommandContext['run'], signals: NodeJS.EventEmitter): void {
  schedulerOptions(program.command('scheduler'))
    .description('run the scheduler until stopped (SIGTERM or SIGINT stop it cleanly)')
    .option('--cron <expression>', 'when passes run (default: every 15 minutes)')
    .option('--run-now', 'run one pass at once, before the first scheduled one')
    .action((flags: SchedulerFlags & { runNow?: boolean }) =>
      run(async ({ keyward, connection, out }) => {
        // Fail fast: a missing or unreachable database stops here, not in every pass forever.
        await keyward.store.listKeys({ limit: 1 });
        const problems = createProblemLog();
        const { scheduler, close } = await createScheduler(keyward, flags, connection.env, problems.logger);
        scheduler.on('pass', (report) => {
          const found = problems.take();
          if (out.json) out.data({ ...report, problems: found.map((p) => p.line) });
          else out.info(`${new Date().toISOString()} ${describePassWithProblems(report, found)}`);
        });
        try {
          scheduler.start();
          if (flags.runNow) void scheduler.tick();
          out.info(
            `scheduler running (${scheduler.config.cron}); next pass ${scheduler.nextRun()?.toISOString() ?? '-'}; stop with SIGTERM`,
          );
          await new Promise<void>((resolve) => {
            const stop = () => resolve();
            signals.once('SIGTERM', stop);
            signals.once('SIGINT', stop);
          });
          out.info('stopping: waiting for a running pass to finish');
          await scheduler.stop();
          out.info('scheduler stopped');
        } finally {
          await close();
        }
      }),
    );
}
