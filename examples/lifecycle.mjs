// The keyward demo: one client's key through its whole life, on the in-memory
// store with a simulated clock (so two days of grace pass in a blink).
// Run: pnpm run build && node examples/lifecycle.mjs
import { createKeyward, ManualClock } from '@keyward/core';

const clock = new ManualClock(Date.now());
const keyward = createKeyward({ clock, grace: '48h', keyLifetime: '30d' });
const day = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16);
const show = (label, result) =>
  console.log(
    `  ${label.padEnd(28)} → ${result.valid ? `ACCEPTED (${result.status}${result.sunset ? `, Sunset ${day(result.sunset)}` : ''})` : `REFUSED: ${result.reason}`}`,
  );

keyward.on('key.rejected', (e) => {
  if (e.reason === 'inactive' || e.reason === 'revoked')
    console.log(`  ! alert: ${e.reason} key ${e.fingerprint} of ${e.clientId} was used`);
});

console.log(`\n1. Issue a key for client "acme" (shown once, stored only as a SHA-256 hash)`);
const issued = await keyward.issue('acme', { scopes: ['orders:read'], actor: 'demo' });
console.log(`  key:         ${issued.key}`);
console.log(`  fingerprint: ${issued.fingerprint}   expires ${day(issued.expiresAt)}`);
show('verify(key)', await keyward.verify(issued.key));
show('verify(typo in key)', await keyward.verify(`${issued.key.slice(0, -1)}${issued.key.endsWith('A') ? 'B' : 'A'}`));

console.log(`\n2. Rotate: a new key is pending, the old one keeps working for 48h`);
const rotation = await keyward.rotate('acme', { reason: 'demo rotation', actor: 'demo' });
console.log(`  new key:     ${rotation.key}`);
show('verify(old key)', await keyward.verify(issued.key));
show('verify(new key)', await keyward.verify(rotation.key));

console.log(`\n3. Two days later: grace is over (before any scheduler ran)`);
clock.advance(48 * 3600_000 + 1);
show('verify(old key)', await keyward.verify(issued.key));
show('verify(new key)', await keyward.verify(rotation.key));

console.log(`\n4. Finalize the rotation: pending → active, old → inactive`);
await keyward.finalize(rotation.rotationId, { actor: 'demo' });
show('verify(new key)', await keyward.verify(rotation.key));

console.log(`\n5. Revoke the new key (say it leaked)`);
await keyward.revoke(rotation.newKeyId, { reason: 'leaked in a log', actor: 'demo' });
show('verify(new key)', await keyward.verify(rotation.key));

console.log(`\n6. The audit trail (hash-chained; fingerprints only, never a key)`);
for (const row of await keyward.store.listAudit({})) {
  console.log(
    `  #${row.seq} ${day(row.at)} ${row.type.padEnd(14)} ${row.fingerprint} actor=${row.actor ?? '-'}${row.reason ? ` reason="${row.reason}"` : ''}`,
  );
}
const chain = await keyward.verifyAuditChain();
console.log(`  chain: ${chain.ok ? `intact (${chain.count} rows)` : `BROKEN at #${chain.brokenAt}`}\n`);
await keyward.close();
