// A redis-server of the test's own, as a foreground child on a fixed free port, that a
// fault test can kill (SIGKILL), freeze (SIGSTOP), thaw (SIGCONT) and start again empty.
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './postgres-cluster.mjs';

function answersPing(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

export async function startRedisProcess() {
  const port = await freePort();
  let child;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--logfile', ''], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 10_000;
    while (!(await answersPing(port))) {
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 30));
    }
  };
  const signal = (name) => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill(name);
  };
  const exited = () =>
    new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    /** Starts a new, empty server on the same port. */
    start,
    async kill() {
      signal('SIGCONT');
      signal('SIGKILL');
      await exited();
    },
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
    async destroy() {
      signal('SIGCONT');
      signal('SIGKILL');
      if (child) await exited();
    },
  };
}
