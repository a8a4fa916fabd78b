import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { iso, when } from '../output.js';
import { parseActor, parseScopes, parseTtl } from '../parse.js';

export function registerIssue(program: Command, run: CommandContext['run']): void {
  program
    .command('issue')
    .description('issue a new key for a client; prints the key (shown once)')
    .argument('<client>', 'client id')
    .option('--scopes <list>', 'comma-separated scopes, e.g. orders:read,orders:write')
    .option('--ttl <duration>', 'lifetime, e.g. 30d (at most 36500d); "never" for no expiry (default: 30d)')
    .option('--actor <name>', 'who is issuing (audit trail; default cli:$USER)')
    .action((client: string, flags: { scopes?: string; ttl?: string; actor?: string }) =>
      run(async ({ keyward, out }) => {
        const options = { scopes: parseScopes(flags.scopes), ttl: parseTtl(flags.ttl), actor: parseActor(flags.actor) };
        const issued = await keyward.issue(client, options);
        if (out.json) {
          out.data({
            key: issued.key,
            fingerprint: issued.fingerprint,
            clientId: issued.clientId,
            keyId: issued.id,
            scopes: issued.scopes,
            expiresAt: iso(issued.expiresAt),
          });
        } else {
          out.result(issued.key);
          out.info(
            `issued key ${issued.fingerprint} for ${issued.clientId}, expires ${when(issued.expiresAt, 'never')}. The key is shown once: store it now.`,
          );
        }
      }),
    );
}
