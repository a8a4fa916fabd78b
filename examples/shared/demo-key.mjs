// Shared by the three examples: which database they serve, the demo key, rate-limited
// alert lines, and a listen that fails loudly.
//
// - KEYWARD_DATABASE_URL set: the example serves that database (the README tour's, or
//   yours) and issues nothing into it; issue keys with `keyward issue`.
// - Not set: the example's own SQLite file (`keyward.db` next to it, or
//   KEYWARD_DEMO_DATABASE), created on first start, with a key for client "demo"
//   issued once and printed in the curl commands.
import { existsSync } from 'node:fs';
import { createAlerting } from '@keyward/core';
import { createKeywardFromEnv, maskUrl } from '@keyward/env';

/** Opens keyward for an example; alerts for old and revoked keys go to stdout, at most one per key and window. */
export async function demoKeyward(exampleUrl) {
  const external = process.env.KEYWARD_DATABASE_URL;
  const ownPath = process.env.KEYWARD_DEMO_DATABASE || new URL('./keyward.db', exampleUrl).pathname;
  // Besides `keyward migrate`, the demo is the one thing that creates a database (its own), and it says so.
  const creating = external === undefined && !existsSync(ownPath);
  // How often last use and the console's request counts are written (default 30s; tests shorten it).
  const usage = process.env.KEYWARD_DEMO_FLUSH_INTERVAL ? { lastUsed: { flushInterval: process.env.KEYWARD_DEMO_FLUSH_INTERVAL } } : {};
  const keyward =
    external === undefined
      ? await createKeywardFromEnv({ env: { ...process.env, KEYWARD_DATABASE_URL: ownPath }, create: true, ...usage })
      : await createKeywardFromEnv({ ...usage });
  if (creating) {
    await keyward.listKeys('demo');
    console.log(`Created the demo's SQLite database ${ownPath}`);
  }
  const demo = { keyward, own: external === undefined, where: external === undefined ? ownPath : maskUrl(external) };
  createAlerting(keyward, {
    kinds: ['key.rejected.inactive', 'key.rejected.revoked'],
    rateLimit: { window: '1m' }, // a client retrying with its old key: one line a minute, not one per request
    sinks: [{ name: 'stdout', send: (alert) => console.log(alertLine(alert)) }],
  });
  return demo;
}

function alertLine(alert) {
  const what = alert.kind === 'key.rejected.revoked' ? 'revoked' : 'inactive';
  const more = alert.suppressed > 0 ? ` (and ${alert.suppressed} more since the last alert)` : '';
  return `alert: ${what} key ${alert.fingerprint} of ${alert.clientId} used from ${alert.details.ip}${more}`;
}

/**
 * Listens on 127.0.0.1:`port`, or says why it cannot (port in use, …) and exits 1:
 * a client must never silently talk to another server on that port.
 */
export function listenOrExit(server, port, name, demo) {
  return new Promise((resolve) => {
    server.once('error', (error) => fail(name, port, error, demo));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Reports a failed start and exits non-zero. */
export async function fail(name, port, error, demo) {
  const why = error?.code === 'EADDRINUSE' ? 'the port is already in use' : (error?.message ?? String(error));
  console.error(`${name} example: cannot listen on http://127.0.0.1:${port}: ${why}`);
  await demo.keyward.close().catch(() => {});
  process.exit(1);
}

/** Once listening: issues the demo key (own database only, once) and prints how to try it. */
export async function announce(name, port, demo) {
  console.log(`${name} example listening on http://127.0.0.1:${port}, keys in ${demo.where}`);
  let key;
  if (!demo.own) {
    console.log('No demo key issued into a database you named; issue one with: pnpm exec keyward issue <client>');
  } else {
    const live = (await demo.keyward.listKeys('demo')).filter((k) => k.status === 'active' || k.status === 'pending');
    if (live.length === 0) {
      ({ key } = await demo.keyward.issue('demo', { scopes: ['orders:read', 'orders:write'], actor: 'example' }));
      console.log(`Issued a key for client "demo" (shown once, keep it): ${key}`);
    } else {
      console.log(`Client "demo" already has ${live.length} live key(s) in ${demo.where}; delete that file to get a new one.`);
    }
  }
  const shown = key ?? '$KEY';
  console.log(`Try:
  curl -i http://127.0.0.1:${port}/orders -H "Authorization: Bearer ${shown}"
  curl -i -X POST http://127.0.0.1:${port}/orders -H "X-API-Key: ${shown}"
  curl -i -X POST http://127.0.0.1:${port}/api-keys/rotate -H "Authorization: Bearer ${shown}" -H "Idempotency-Key: rotate-1"`);
}

/** Once listening: an admin key for the operator console (own database only, once). */
export async function announceAdmin(admin, url, demo) {
  if (!demo.own) {
    console.log(`Operator console: ${url} (issue an admin key with: pnpm exec keyward admin-key <name>)`);
    return;
  }
  const existing = (await demo.keyward.store.listKeys({ clientId: 'keyward-admin:demo' })).filter((k) => k.status === 'active');
  if (existing.length > 0) {
    console.log(`Operator console: ${url} (the demo admin key was shown at first start; delete ${demo.where} for a new one)`);
    return;
  }
  const { key } = await admin.issueAdminKey('demo', { actor: 'example' });
  console.log(`Operator console: ${url}, log in with this admin key (shown once, keep it): ${key}`);
}

/** Closes the server and keyward on SIGINT/SIGTERM. */
export function closeOnSignals(close) {
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => close().then(() => process.exit(0)));
}
