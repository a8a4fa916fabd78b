import { Command, CommanderError } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerIssue } from './commands/issue.js';
import { registerList } from './commands/list.js';
import { registerRevoke } from './commands/revoke.js';
import { registerRotate } from './commands/rotate.js';
import { type GlobalFlags, createCommandContext } from './context.js';
import { EXIT_OK, EXIT_USAGE } from './errors.js';
import { type Streams, createOutput } from './output.js';

export interface CliEnvironment extends Streams {
  env: NodeJS.ProcessEnv;
}

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function runCli(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  let exitCode = EXIT_OK;
  const program = new Command('keyward')
    .description('keyward: API keys that rotate themselves')
    .option('--database <url>', 'SQLite path or postgres:// URL (env KEYWARD_DATABASE_URL, default ./keyward.db)')
    .option('--redis <url>', 'Redis URL for the shared cache and invalidation bus (env KEYWARD_REDIS_URL)')
    .option('--json', 'machine-readable output on stdout')
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
  for (const register of [registerIssue, registerRotate, registerRevoke, registerList, registerAudit]) {
    register(program, context.run);
  }
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
