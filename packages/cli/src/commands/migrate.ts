import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { OperationError, UsageError } from '../errors.js';

interface Migratable {
  migrate(): Promise<{ from: number; to: number; applied: readonly number[] }>;
}

interface RoleGranting {
  grantAppRole(role: string, options?: { password?: string }): Promise<{ role: string; created: boolean }>;
}

function grantsRoles(store: unknown): store is RoleGranting {
  return typeof (store as Partial<RoleGranting>).grantAppRole === 'function';
}

function isMigratable(store: unknown): store is Migratable {
  return typeof (store as Partial<Migratable>).migrate === 'function';
}

export function registerMigrate(program: Command, run: CommandContext['run']): void {
  program
    .command('migrate')
    .description('create or upgrade the database schema (idempotent)')
    .option(
      '--app-role <name>',
      'PostgreSQL: also create/grant the login role the app runs as (keys read/write, audit INSERT/SELECT only); password from KEYWARD_APP_ROLE_PASSWORD',
    )
    .action((flags: { appRole?: string }) =>
      run(
        async ({ keyward, connection, out }) => {
          const { store } = keyward;
          if (!isMigratable(store)) throw new OperationError('this store has no schema to migrate');
          if (flags.appRole !== undefined && !grantsRoles(store)) {
            throw new UsageError(
              '--app-role is for PostgreSQL: an embedded SQLite file has no roles (see the SQLite README on what it can promise)',
            );
          }
          const report = await store.migrate();
          if (out.json && flags.appRole === undefined) out.data(report);
          else if (report.applied.length === 0) out.info(`schema is up to date (version ${report.to})`);
          else out.info(`schema migrated from version ${report.from} to ${report.to} (applied ${report.applied.join(', ')})`);
          if (flags.appRole !== undefined && grantsRoles(store)) {
            const password = connection.env.KEYWARD_APP_ROLE_PASSWORD;
            const role = await store.grantAppRole(flags.appRole, password === undefined || password === '' ? {} : { password });
            if (out.json) out.data({ ...report, appRole: role });
            out.info(
              `app role ${role.role} ${role.created ? 'created' : 'granted again'}: keys, rotations, change log read/write; audit rows INSERT and SELECT only. Run the app as ${role.role}, not as the owner`,
            );
          }
        },
        { migrate: false },
      ),
    );
}
