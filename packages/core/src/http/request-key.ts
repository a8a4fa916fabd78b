import { IncomingMessage } from 'node:http';
import type { ValidKey } from '../verify-result.js';

/** Where the key lives on an Express response's `res.locals`; shared by every copy of this package. */
const LOCALS_SLOT = Symbol.for('@keyward/core.apiKey');
/** Marks the `apiKey` accessor as keyward's, so a second copy of the package recognises it. */
const ACCESSOR_MARK = Symbol.for('@keyward/core.apiKeyAccessor');

/** Prototypes never extended: Node's own request class and Object. */
const STOP = new Set<object>([Object.prototype, IncomingMessage.prototype]);

interface ExpressStyleRequest {
  apiKey?: ValidKey | undefined;
  res?: { locals?: Record<PropertyKey, unknown> } | undefined;
}

function readFromLocals(this: ExpressStyleRequest): ValidKey | undefined {
  return this.res?.locals?.[LOCALS_SLOT] as ValidKey | undefined;
}
(readFromLocals as unknown as Record<symbol, boolean>)[ACCESSOR_MARK] = true;

/** Assigning `req.apiKey` by hand still works: it becomes an ordinary own property. */
function assignOwn(this: ExpressStyleRequest, value: unknown): void {
  Object.defineProperty(this, 'apiKey', { value, writable: true, enumerable: true, configurable: true });
}

const isOurs = (descriptor: PropertyDescriptor): boolean =>
  (descriptor.get as unknown as Record<symbol, boolean> | undefined)?.[ACCESSOR_MARK] === true;

/** Per request prototype: does `req.apiKey` read `res.locals` through our accessor (installed now if need be)? */
const readsLocals = new WeakMap<object, boolean>();

function accessorFor(prototype: object): boolean {
  let target: object | undefined;
  for (let p: object | null = prototype; p !== null && !STOP.has(p); p = Object.getPrototypeOf(p)) {
    const existing = Object.getOwnPropertyDescriptor(p, 'apiKey');
    if (existing !== undefined) return isOurs(existing);
    target = p;
  }
  if (target === undefined || !Object.isExtensible(target)) return false;
  Object.defineProperty(target, 'apiKey', { get: readFromLocals, set: assignOwn, enumerable: false, configurable: true });
  return true;
}

/**
 * Sets `req.apiKey` for the Express middleware and the Nest guard. Giving every
 * request a new own property costs an Express request ~3 % (bench:http, pinned A/B),
 * so where the request is Express's (it has `res.locals`, Express's per-request
 * storage) the key goes into `res.locals` under a symbol, and `req.apiKey` is an
 * accessor installed once on Express's shared request prototype (`express.request`,
 * which Express documents as the place to extend requests). Elsewhere (Fastify, a
 * plain object, a prototype that already has an `apiKey` of its own) it is an
 * ordinary assignment.
 */
export function setRequestKey(request: object, key: ValidKey): void {
  const req = request as ExpressStyleRequest;
  const locals = req.res?.locals;
  if (locals !== undefined && typeof locals === 'object' && locals !== null && !Object.hasOwn(req, 'apiKey')) {
    const prototype = Object.getPrototypeOf(req) as object | null;
    if (prototype !== null) {
      let ours = readsLocals.get(prototype);
      if (ours === undefined) {
        ours = accessorFor(prototype);
        readsLocals.set(prototype, ours);
      }
      if (ours) {
        locals[LOCALS_SLOT] = key;
        return;
      }
    }
  }
  req.apiKey = key;
}
