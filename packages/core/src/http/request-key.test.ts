import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ValidKey } from '../verify-result.js';
import { setRequestKey } from './request-key.js';

const key = (id: string) => ({ valid: true, keyId: id }) as unknown as ValidKey;

/** Requests shaped like Express's: req → app.request → express.request → IncomingMessage.prototype, with req.res.locals. */
function expressLike() {
  const expressRequest = Object.create(IncomingMessage.prototype) as object;
  const appRequest = () => Object.create(expressRequest) as object;
  const request = (app: object) => {
    const req = new IncomingMessage(new Socket()) as IncomingMessage & { apiKey?: ValidKey; res?: { locals: object } };
    Object.setPrototypeOf(req, app);
    req.res = { locals: Object.create(null) as object };
    return req;
  };
  return { expressRequest, appRequest, request };
}

describe('setRequestKey', () => {
  it('on an Express request: req.apiKey reads res.locals, with no own property on the request', () => {
    const { expressRequest, appRequest, request } = expressLike();
    const [app, mounted] = [appRequest(), appRequest()];
    const req = request(app);
    setRequestKey(req, key('k1'));
    expect(req.apiKey).toEqual(key('k1'));
    expect(Object.hasOwn(req, 'apiKey')).toBe(false);
    // Installed once on Express's shared request prototype, never on Node's class.
    expect(Object.getOwnPropertyDescriptor(expressRequest, 'apiKey')?.get).toBeTypeOf('function');
    expect(Object.getOwnPropertyDescriptor(IncomingMessage.prototype, 'apiKey')).toBeUndefined();
    // Entering a mounted app (another app.request) keeps it; other requests do not see it.
    Object.setPrototypeOf(req, mounted);
    expect(req.apiKey).toEqual(key('k1'));
    const other = request(mounted);
    expect(other.apiKey).toBeUndefined();
    // Assigning by hand still works, as an ordinary property.
    other.apiKey = key('k2');
    expect(other.apiKey).toEqual(key('k2'));
    expect(Object.hasOwn(other, 'apiKey')).toBe(true);
    setRequestKey(other, key('k3'));
    expect(other.apiKey).toEqual(key('k3'));
  });

  it('falls back to an ordinary property without res.locals, or where the name is taken', () => {
    const plain: { apiKey?: ValidKey } = {};
    setRequestKey(plain, key('a'));
    expect(Object.getOwnPropertyDescriptor(plain, 'apiKey')?.value).toEqual(key('a'));

    const fastifyLike = Object.create({ raw: {} }) as { apiKey?: ValidKey };
    setRequestKey(fastifyLike, key('b'));
    expect(Object.hasOwn(fastifyLike, 'apiKey')).toBe(true);

    const taken = Object.assign(Object.create({ apiKey: null }) as object, { res: { locals: {} } }) as { apiKey?: ValidKey };
    setRequestKey(taken, key('c'));
    expect(taken.apiKey).toEqual(key('c'));
    expect(Object.hasOwn(taken, 'apiKey')).toBe(true);

    const node = Object.assign(new IncomingMessage(new Socket()), { res: { locals: {} } }) as IncomingMessage & { apiKey?: ValidKey };
    setRequestKey(node, key('d'));
    expect(node.apiKey).toEqual(key('d'));
    expect(Object.getOwnPropertyDescriptor(IncomingMessage.prototype, 'apiKey')).toBeUndefined();
  });
});
