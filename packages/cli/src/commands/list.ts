import type { KeyRecord } from '@keyward/core';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { when } from '../output.js';
import { iso } from './issue.js';

export function registerList(program: Command, run: CommandContext['run']): void {
  program
    .command('list')
    .description('list keys (fingerprints and dates, never a key)')
    .argument('[client]', "only this client's keys")
    .action((client: string | undefined) =>
      run(async ({ keyward, out }) => {
        const keys = await keyward.store.listKeys(client === undefined ? {} : { clientId: client });
        if (out.json) {
          out.data(keys.map(toJson));
          return;
        }
        out.table(
          keys.map((k) => ({
            fingerprint: k.fingerprint,
            client: k.clientId,
            status: k.status,
            created: when(k.createdAt),
            expires: when(k.expiresAt),
            'grace until': when(k.graceUntil),
            'last used': when(k.lastUsedAt),
          })),
          ['fingerprint', 'client', 'status', 'created', 'expires', 'grace until', 'last used'],
        );
      }),
    );
}

function toJson(k: KeyRecord) {
  return {
    fingerprint: k.fingerprint,
    clientId: k.clientId,
    keyId: k.id,
    status: k.status,
    scopes: k.scopes,
    createdAt: iso(k.createdAt),
    expiresAt: iso(k.expiresAt),
    graceUntil: iso(k.graceUntil),
    lastUsedAt: iso(k.lastUsedAt),
    revokedAt: iso(k.revokedAt),
    revokedReason: k.revokedReason,
  };
}
