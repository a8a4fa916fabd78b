// A flood of well-formed, never-issued keys (the CRC-32 is public: anyone can mint them)
// from many loopback source addresses, each on its own keep-alive connection, as fast as
// the servers answer. For the flood tests and bench:flood.
import { Agent, request } from 'node:http';
import { generateKey } from '@keyward/core';
import { get } from './fleet.mjs';

/**
 * Starts `connections` senders spread over `addresses` source addresses
 * (127.0.<subnet>.1 … ), round-robin over `ports`; each sends a new made-up key as soon as
 * its last one was answered. `statuses` counts the answers by HTTP status.
 */
export function startFlood(ports, { addresses = 64, connections = 64, subnet = 1, prefix = 'sk_live' } = {}) {
  let stopped = false;
  const statuses = new Map();
  const agents = [];
  let sent = 0;
  const loops = [];
  for (let i = 0; i < connections; i++) {
    const address = `127.0.${subnet + Math.floor((i % addresses) / 250)}.${1 + ((i % addresses) % 250)}`;
    const agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: address });
    agents.push(agent);
    const port = ports[i % ports.length];
    loops.push(
      (async () => {
        while (!stopped) {
          sent++;
          const status = await get(port, agent, generateKey(prefix));
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      })(),
    );
  }
  return {
    statuses,
    get sent() {
      return sent;
    },
    /** Answered requests so far. */
    answered() {
      let n = 0;
      for (const count of statuses.values()) n += count;
      return n;
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
      for (const agent of agents) agent.destroy();
    },
  };
}

/** GET a JSON endpoint of a test app (unauthenticated `/__…` routes). */
export function getJson(port, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
