import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoReceiver {
  readonly url: string;
  /** Request bodies, in order (they hold the delivered keys). */
  readonly bodies: string[];
  close(): Promise<void>;
}

/**
 * A careless webhook receiver on 127.0.0.1:0: `status(body, index)` picks the answer,
 * and every error response echoes the request body back, key included, so a sink that
 * logged or kept a response body would leak the key.
 */
export async function startEchoReceiver(status: (body: string, index: number) => number): Promise<EchoReceiver> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      bodies.push(body);
      const code = status(body, bodies.length - 1);
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(code < 300 ? '{"ok":true}' : `{"error":"cannot process","received":${body}}`);
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/keys`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
