// Shared by the three examples: keyward on the embedded default (@keyward/env: a SQLite
// file next to the example unless KEYWARD_DATABASE_URL says otherwise), and a key for
// client "demo" issued on first start and printed once.
import { existsSync } from 'node:fs';
import { createKeywardFromEnv } from '@keyward/env';

export async function demoKeyward(exampleUrl) {
  process.env.KEYWARD_DATABASE_URL ??= new URL('./keyward.db', exampleUrl).pathname;
  // Besides `keyward migrate`, the demo is the one thing that creates a database, and it says so.
  const file = process.env.KEYWARD_DATABASE_URL;
  const creating = !/^postgres(ql)?:/i.test(file) && !existsSync(file);
  const keyward = await createKeywardFromEnv({ create: true });
  await keyward.listKeys('demo');
  if (creating) console.log(`Created the demo's SQLite database ${file}`);
  const live = (await keyward.listKeys('demo')).filter((k) => k.status === 'active' || k.status === 'pending');
  if (live.length === 0) {
    const issued = await keyward.issue('demo', { scopes: ['orders:read', 'orders:write'], actor: 'example' });
    console.log(`Issued a key for client "demo" (shown once, keep it): ${issued.key}`);
  } else {
    console.log(
      `Client "demo" already has ${live.length} live key(s) in ${process.env.KEYWARD_DATABASE_URL}; delete that file to get a new one.`,
    );
  }
  keyward.on('key.rejected', (e) => {
    if (e.reason === 'inactive' || e.reason === 'revoked')
      console.log(`alert: ${e.reason} key ${e.fingerprint} of ${e.clientId} used from ${e.context?.ip}`);
  });
  return keyward;
}

export function usage(port) {
  console.log(`Try:
  curl -i http://127.0.0.1:${port}/orders -H "Authorization: Bearer <key>"
  curl -i -X POST http://127.0.0.1:${port}/orders -H "X-API-Key: <key>"
  curl -i -X POST http://127.0.0.1:${port}/api-keys/rotate -H "Authorization: Bearer <key>" -H "Idempotency-Key: rotate-1"`);
}
