import http, { type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP server on 127.0.0.1 for a test; `close` stops it. */
export async function serve(listener: RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The session cookie's `name=value` from a response, for the next request. */
export function cookieOf(response: Response): string {
  const raw = response.headers.getSetCookie().find((c) => c.startsWith('keyward_admin_session='));
  if (!raw) throw new Error('no session cookie');
  return raw.split(';')[0] as string;
}

export const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' } as const;
