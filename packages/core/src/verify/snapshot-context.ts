import type { VerifyContext } from '../events.js';

/**
 * The request facts as plain data for an event. An adapter may pass a lazy view of
 * its request (getters, read only here, on the rarer paths that emit), and an event
 * must not keep that alive or lose the facts when serialised.
 */
export function snapshotContext(context: VerifyContext | undefined): VerifyContext | undefined {
  if (context === undefined) return undefined;
  const { method, path, ip } = context;
  return {
    ...(method === undefined ? {} : { method }),
    ...(path === undefined ? {} : { path }),
    ...(ip === undefined ? {} : { ip }),
  };
}
