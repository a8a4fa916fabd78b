// bench:verify — verify() on a cached key, side by side with a bare SHA-256 of
// the same key, in one run. Goal (issue 2): a cache hit costs at most 2x a bare
// createHash('sha256') (ratio >= 0.5). Also: malformed keys rejected per second, and
// verify() on a keep-alive connection's repeated key (the per-connection memo, no hash).
import { createHash } from 'node:crypto';
import os from 'node:os';
import { createKeyward, MemoryStore } from '@keyward/core';

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/** Runs `fn` in batches for ~ROUND_MS and returns operations per second. */
async function opsPerSecond(fn, batch = 2000) {
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ROUND_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    await fn(batch);
    ops += batch;
    now = process.hrtime.bigint();
  }
  return ops / (Number(now - start) / 1e9);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const keyward = createKeyward({ store: new MemoryStore() });
const { key } = await keyward.issue('bench-client', { scopes: ['read'] });
const malformed = `${key.slice(0, -1)}${key.at(-1) === 'A' ? 'B' : 'A'}`; // bad checksum
if (!(await keyward.verify(key)).valid) throw new Error('bench setup: key does not verify');
if ((await keyward.verify(malformed)).reason !== 'malformed') throw new Error('bench setup: malformed key not rejected');

let sink = 0;
const verifyBatch = async (n) => {
  for (let i = 0; i < n; i++) if ((await keyward.verify(key)).valid) sink++;
};
const sha256Batch = async (n) => {
  for (let i = 0; i < n; i++) sink += createHash('sha256').update(key).digest('hex').length;
};
const connection = {}; // stands in for a request's socket
const memoBatch = async (n) => {
  for (let i = 0; i < n; i++) if ((await keyward.verify(key, undefined, connection)).valid) sink++;
};
const malformedBatch = async (n) => {
  for (let i = 0; i < n; i++) if (!(await keyward.verify(malformed)).valid) sink++;
};

// Warm up (JIT), then interleave rounds so drift on a shared machine hits both sides alike.
await verifyBatch(50_000);
await sha256Batch(50_000);
await malformedBatch(50_000);
await memoBatch(50_000);
const verify = [];
const memo = [];
const sha = [];
const bad = [];
for (let r = 0; r < ROUNDS; r++) {
  verify.push(await opsPerSecond(verifyBatch));
  sha.push(await opsPerSecond(sha256Batch));
  bad.push(await opsPerSecond(malformedBatch));
  memo.push(await opsPerSecond(memoBatch));
}
await keyward.close();

const verifyOps = Math.round(median(verify));
const shaOps = Math.round(median(sha));
const malformedOps = Math.round(median(bad));
const memoOps = Math.round(median(memo));
const ratio = (verifyOps / shaOps).toFixed(3);
const fmt = (n) => n.toLocaleString('en-US').padStart(12);
console.log(
  `node ${process.version}, ${os.cpus().length} cpus (${os.cpus()[0]?.model ?? '?'}), ${ROUNDS} rounds of ${ROUND_MS} ms, median`,
);
console.log(`verify() cache hit        ${fmt(verifyOps)} ops/s  (${(1e6 / verifyOps).toFixed(2)} µs/op)`);
console.log(`createHash('sha256') hex  ${fmt(shaOps)} ops/s  (${(1e6 / shaOps).toFixed(2)} µs/op)`);
console.log(`verify() same connection   ${fmt(memoOps)} ops/s  (${(1e6 / memoOps).toFixed(2)} µs/op)`);
console.log(`verify() malformed key    ${fmt(malformedOps)} ops/s  (${(1e6 / malformedOps).toFixed(2)} µs/op)`);
console.log(`ratio verify/sha256 = ${ratio} (goal >= 0.5)${sink < 0 ? '' : ''}`);
console.log(`RESULT verify_ops=${verifyOps} sha256_ops=${shaOps} ratio=${ratio} malformed_ops=${malformedOps} connection_ops=${memoOps}`);
