import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAbort } from './commands/abort.js';
import { registerAdmin } from './commands/admin.js';
import { registerAudit } from './commands/audit.js';
import { registerDoctor } from './commands/doctor.js';
import { registerIssue } from './commands/issue.js';
import { registerLeak } from './commands/leak.js';
import { registerList } from './commands/list.js';
import { registerMigrate } from './commands/migrate.js';
import { registerRevoke } from './commands/revoke.js';
import { registerRotate } from './commands/rotate.js';
import { registerScheduler, registerTick } from './commands/tick.js';
import { registerUnrevoke } from './commands/unrevoke.js';
import { createCommandContext, type GlobalFlags } from './context.js';
import { EXIT_OK, EXIT_USAGE } from './errors.js';
import { createOutput, type Streams } from './output.js';

export interface CliEnvironment extends Streams {
  env: NodeJS.ProcessEnv;
  /** Where SIGTERM/SIGINT come from (`process` for the real CLI). */
  signals?: NodeJS.EventEmitter;
  /** Where `keyward leak` reads keys from (`process.stdin` for the real CLI). */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** This package's version, from its package.json (one level above `src/` and `dist/` alike). */
function cliVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function runCli(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  let exitCode = EXIT_OK;
  const program = new Command('keyward')
    .description('keyward: API keys that rotate themselves')
    .option('--database <url>', 'SQLite path or postgres:// URL (env KEYWARD_DATABASE_URL, default ./keyward.db); only migrate creates one')
    .option('--redis <url>', 'Redis URL for the shared cache and invalidation bus (env KEYWARD_REDIS_URL)')
    .option('--json', 'machine-readable output on stdout')
    .version(cliVersion(), '-V, --version', 'print the keyward version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => environment.stdout.write(s),
      writeErr: (s) => environment.stderr.write(s),
    })
    .showHelpAfterError('(run keyward --help for usage)');

  const context = createCommandContext(
    () => program.opts<GlobalFlags>(),
    environment.env,
    (json) => createOutput(json, environment),
    (code) => {
      exitCode = code;
    },
  );
  for (const register of [
    registerMigrate,
    registerIssue,
    registerRotate,
    registerAbort,
    registerRevoke,
    registerUnrevoke,
    registerList,
    registerAudit,
    registerTick,
    registerDoctor,
  ]) {
    register(program, context.run);
  }
  registerScheduler(program, context.run, environment.signals ?? process);
  registerAdmin(program, context.run, environment.signals ?? process);
  registerLeak(program, context.run, environment.stdin ?? process.stdin);
  for (const command of program.commands) command.exitOverride();

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with exit code 0; anything else is bad usage.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    throw error;
  }
  return exitCode;
}
