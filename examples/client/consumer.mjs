// A consumer of a keyward-protected API that never needs a person when its key
// rotates: @keyward/client with a FileStore. Run from the repo root:
//   KEY_FILE=consumer.key BASE_URL=http://127.0.0.1:3000 node examples/client/consumer.mjs
// The key file holds the key (a bare key on first start; the client rewrites it as
// JSON, mode 0600, when it rotates). It calls GET /orders twice a second and prints
// one line per call and per client event. `kill -USR2 <pid>` makes it rotate its key.
import { createKeyClient, FileStore } from '../../packages/client/dist/index.js';

const baseUrl = process.env.BASE_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`;
const path = process.env.KEY_FILE ?? 'consumer.key';
const client = createKeyClient({
  baseUrl,
  store: new FileStore({ path }),
  logger: { warn: (object, message) => console.log(`warn: ${message} ${JSON.stringify(object)}`) },
});
client.on('rotated', (e) => console.log(`rotated: ${e.from} -> ${e.to} (${e.how})`));
client.on('rotation.failed', (e) => console.log(`rotation failed: ${e.message} (next try ${new Date(e.retryAt).toISOString()})`));
client.on('key.rejected', (e) => console.log(`key ${e.fingerprint} rejected: ${e.status} ${e.code ?? ''}`));
process.on('SIGUSR2', () => {
  client.rotate().catch(() => undefined); // the outcome arrives as an event
});
let running = true;
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (running = false));

console.log(`consumer ${process.pid}: calling ${baseUrl}/orders with the key in ${path}`);
while (running) {
  try {
    const res = await client.fetch(`${baseUrl}/orders`);
    const sunset = res.headers.get('sunset');
    console.log(`${res.status} with key ${await client.currentFingerprint()}${sunset ? ` (sunset ${sunset})` : ''}`);
    await res.arrayBuffer();
  } catch (error) {
    console.log(`request failed: ${error.message}`);
  }
  await new Promise((r) => setTimeout(r, 500));
}
client.close();
