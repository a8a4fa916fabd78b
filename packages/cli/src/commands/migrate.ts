import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { OperationError } from '../errors.js';

interface Migratable {
  migrate(): Promise<{ from: number; to: number; applied: readonly number[] }>;
}

function isMigratable(store: unknown): store is Migratable {
  return typeof (store as Partial<Migratable>).migrate === 'function';
}

export function registerMigrate(program: Command, run: CommandContext['run']): void {
  program
    .command('migrate')
    .description('create or upgrade the database schema (idempotent)')
    .action(() =>
      run(
        async ({ keyward, out }) => {
          const { store } = keyward;
          if (!isMigratable(store)) throw new OperationError('this store has no schema to migrate');
          const report = await store.migrate();
          if (out.json) out.data(report);
          else if (report.applied.length === 0) out.info(`schema is up to date (version ${report.to})`);
          else out.info(`schema migrated from version ${report.from} to ${report.to} (applied ${report.applied.join(', ')})`);
        },
        { migrate: false },
      ),
    );
}
