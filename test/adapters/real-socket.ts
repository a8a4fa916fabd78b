// Requests over a real TCP connection, with repeated header fields sent as separate
// lines. supertest cannot do this: `.set(name, value)` replaces an earlier value, so
// a request never carries two Authorization headers.
import { Agent, createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BuiltApp } from './frameworks.js';

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
  /** The local port of the connection that carried the request (same port: same keep-alive connection). */
  readonly localPort: number;
}

export interface RealSocketClient {
  /** Sends one request; a header given an array is sent as that many header lines. */
  send(method: string, path: string, headers: Record<string, string | string[]>): Promise<RawResponse>;
  close(): Promise<void>;
}

/** Listens on a free port (an app's own server, or a new one for a request handler) with one keep-alive connection. */
export async function realSocketClient(app: BuiltApp): Promise<RealSocketClient> {
  const own = typeof app.target === 'function';
  const server: Server = own ? createServer(app.target as never) : (app.target as Server);
  // An app's own server (Nest) stays listening once started: the app closes it.
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    send(method, path, headers) {
      return new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => {
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
              localPort: req.socket?.localPort ?? 0,
            });
          });
        });
        req.on('error', reject);
        for (const [name, value] of Object.entries(headers)) req.setHeader(name, value);
        req.end();
      });
    },
    async close() {
      agent.destroy();
      if (own) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
