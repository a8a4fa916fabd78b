import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { keywardAdmin } from '@keyward/admin';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { parseActor } from '../parse.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

interface AdminFlags {
  port: string;
  host: string;
  adminKeys?: boolean;
  adminKeyPrefix?: string;
  trustProxy?: boolean;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port must be 0 to 65535; got ${JSON.stringify(value)}`);
  return port;
}

/**
 * `keyward admin`: the operator console, standalone, until SIGTERM or SIGINT. Bound to
 * 127.0.0.1 unless `--host` says otherwise; another host needs `--admin-keys`, since
 * without them the console serves loopback connections only.
 */
export function registerAdmin(program: Command, run: CommandContext['run'], signals: NodeJS.EventEmitter): void {
  program
    .command('admin')
    .description('run the operator console (dashboard and admin API) until stopped')
    .option('--port <n>', 'port to listen on', '8080')
    .option('--host <address>', 'address to bind (default 127.0.0.1: this machine only)', '127.0.0.1')
    .option('--admin-keys', 'require an admin key (keyward admin-key issues one); without it only loopback connections are served')
    .option('--admin-key-prefix <prefix>', 'prefix of admin keys (default kwadmin)')
    .option('--trust-proxy', 'trust X-Forwarded-Proto for HTTPS (Secure session cookie), behind your own proxy only')
    .action((flags: AdminFlags) =>
      run(async ({ keyward, out }) => {
        const port = parsePort(flags.port);
        const adminKeys = flags.adminKeys || flags.adminKeyPrefix !== undefined;
        if (!LOOPBACK_HOSTS.has(flags.host) && !adminKeys) {
          throw new UsageError(`--host ${flags.host} is not loopback: add --admin-keys, or the console would refuse every request`);
        }
        // Fail fast on a missing or unreachable database, before listening.
        await keyward.store.listKeys({ limit: 1 });
        const admin = keywardAdmin({
          keyward,
          ...(adminKeys ? { adminKeys: flags.adminKeyPrefix ? { prefix: flags.adminKeyPrefix } : true } : {}),
          ...(flags.trustProxy ? { trustProxy: true } : {}),
        });
        const server = http.createServer(admin);
        try {
          server.listen(port, flags.host);
          await once(server, 'listening');
          const address = server.address() as AddressInfo;
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          out.info(
            `keyward admin console on http://${host}:${address.port}/ (${adminKeys ? 'admin keys required' : 'loopback only'}); stop with SIGTERM`,
          );
          if (out.json) out.data({ url: `http://${host}:${address.port}/`, adminKeys });
          await new Promise<void>((resolve) => {
            signals.once('SIGTERM', resolve);
            signals.once('SIGINT', resolve);
          });
        } finally {
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
          await admin.close();
        }
        out.info('admin console stopped');
      }),
    );

  program
    .command('admin-key')
    .description('issue an admin key for the operator console (printed once, on stdout)')
    .argument('<name>', 'who it is for: the actor in the audit trail is admin:<name>')
    .option('--read-only', 'scope keyward:read only (no actions)')
    .option('--admin-key-prefix <prefix>', 'prefix of admin keys (default kwadmin)')
    .action((name: string, flags: { readOnly?: boolean; adminKeyPrefix?: string }) =>
      run(async ({ keyward, out }) => {
        const admin = keywardAdmin({ keyward, adminKeys: flags.adminKeyPrefix ? { prefix: flags.adminKeyPrefix } : true });
        try {
          const issued = await admin.issueAdminKey(name, { write: !flags.readOnly, actor: parseActor(undefined) });
          if (out.json)
            out.data({ key: issued.key, fingerprint: issued.fingerprint, clientId: issued.clientId, readOnly: flags.readOnly === true });
          else {
            out.result(issued.key);
            out.info(
              `admin key ${issued.fingerprint} for ${issued.clientId}${flags.readOnly ? ' (read-only)' : ''}: shown once, store it now`,
            );
          }
        } finally {
          await admin.close();
        }
      }),
    );
}
