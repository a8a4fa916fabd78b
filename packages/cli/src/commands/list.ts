import { isValidTime, type KeyView, type RotationView } from '@keyward/core';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { OperationError } from '../errors.js';
import { iso, when } from '../output.js';

const TIMES = ['createdAt', 'expiresAt', 'graceUntil', 'lastUsedAt', 'revokedAt', 'statusChangedAt'] as const;

/** Times a row holds that no date can (written before durations were capped, or by hand): reported, never a crash. */
export function badTimes(key: KeyView): string[] {
  return TIMES.filter((field) => key[field] !== null && !isValidTime(key[field])).map((field) => `${field} ${key[field]}`);
}

export function registerList(program: Command, run: CommandContext['run']): void {
  program
    .command('list')
    .description('list keys with their effective status (fingerprints and dates, never a key)')
    .argument('[client]', "only this client's keys (exit 1 when it has none)")
    .action((client: string | undefined) =>
      run(async ({ keyward, out }) => {
        const keys = await keyward.listKeys(client);
        if (client !== undefined && keys.length === 0) throw new OperationError(`client ${client} has no keys`);
        for (const key of keys) {
          const bad = badTimes(key);
          if (bad.length > 0)
            out.info(`warning: key ${key.fingerprint} of ${key.clientId} holds a time no date can: ${bad.join(', ')} (see keyward doctor)`);
        }
        const stale = keys.filter((k) => k.status !== k.storedStatus);
        // Each key's rotation (as old or new key): its progress, first use and deadline.
        const rotations = new Map((await keyward.listRotations(client)).map((r) => [r.rotationId, r]));
        const rotationOf = (k: KeyView) => (k.rotationId === null ? undefined : rotations.get(k.rotationId));
        if (out.json) {
          out.data(keys.map((k) => toJson(k, rotationOf(k))));
          return;
        }
        out.table(
          keys.map((k) => ({
            fingerprint: k.fingerprint,
            client: k.clientId,
            status: k.status === k.storedStatus ? k.status : `${k.status}*`,
            created: when(k.createdAt),
            expires: when(k.expiresAt, 'never'),
            'grace until': when(k.graceUntil),
            rotation: rotationOf(k)?.status ?? '-',
            'last used': when(k.lastUsedAt),
          })),
          ['fingerprint', 'client', 'status', 'created', 'expires', 'grace until', 'rotation', 'last used'],
        );
        if (stale.length > 0)
          out.info('* effective status, decided by the clock as the API decides it; the stored status catches up at the next keyward tick');
      }),
    );
}

function toJson(k: KeyView, rotation: RotationView | undefined) {
  return {
    fingerprint: k.fingerprint,
    clientId: k.clientId,
    keyId: k.id,
    status: k.status,
    storedStatus: k.storedStatus,
    scopes: k.scopes,
    createdAt: iso(k.createdAt),
    expiresAt: iso(k.expiresAt),
    graceUntil: iso(k.graceUntil),
    lastUsedAt: iso(k.lastUsedAt),
    revokedAt: iso(k.revokedAt),
    revokedReason: k.revokedReason,
    rotation:
      rotation === undefined
        ? null
        : {
            rotationId: rotation.rotationId,
            status: rotation.status,
            graceFrom: rotation.graceFrom,
            firstUsedAt: iso(rotation.firstUsedAt),
            graceUntil: iso(rotation.graceUntil),
          },
  };
}
