import { userInfo } from 'node:os';

/** The PostgreSQL the benches use: DATABASE_URL, or the local server's `test` database as this user. */
export function databaseUrl() {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test');
  if (!url.username && !process.env.PGUSER && !process.env.USER) url.username = encodeURIComponent(userInfo().username);
  return url.href;
}
