import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { generateKey } from '../key-format.js';
import { createKeyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';
import { SecretScanningEndpoint } from './secret-scanning.js';

/** A test "GitHub": serves a public-keys document for two P-256 keys (one current) and signs reports as GitHub does. */
class FakeGitHub {
  readonly keys = [generateKeyPairSync('ec', { namedCurve: 'P-256' }), generateKeyPairSync('ec', { namedCurve: 'P-256' })];
  readonly ids = ['old-key-id', 'current-key-id'];
  server: Server | undefined;
  fetches = 0;
  down = false;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      this.fetches++;
      if (this.down) {
        res.writeHead(502).end();
        return;
      }
      const public_keys = this.keys.map((pair, i) => ({
        key_identifier: this.ids[i],
        key: (pair.publicKey as KeyObject).export({ type: 'spki', format: 'pem' }),
        is_current: i === 1,
      }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ public_keys }));
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/meta/public_keys/secret_scanning`;
  }

  /** Body and headers of a signed report, as GitHub sends it. */
  report(matches: unknown, keyIndex = 1): { rawBody: Buffer; headers: Record<string, string> } {
    const rawBody = Buffer.from(JSON.stringify(matches));
    const signature = sign('sha256', rawBody, this.keys[keyIndex]?.privateKey as KeyObject).toString('base64');
    return { rawBody, headers: { 'github-public-key-identifier': this.ids[keyIndex] as string, 'github-public-key-signature': signature } };
  }
}

const github = new FakeGitHub();
beforeAll(() => github.start());
afterAll(() => new Promise<void>((resolve) => github.server?.close(() => resolve())));

function setup() {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new MemoryStore();
  const keyward = createKeyward({ store, clock });
  const endpoint = new SecretScanningEndpoint({ keyward, publicKeysUrl: github.url });
  return { clock, store, keyward, endpoint };
}

const URL_FOUND = 'https://github.com/octocat/Hello-World/blob/123/config.js';

describe('the secret-scanning endpoint (GitHub partner format)', () => {
  it('refuses a bad configuration at construction, naming the option', () => {
    const keyward = createKeyward({ store: new MemoryStore() });
    expect(() => new SecretScanningEndpoint({ keyward: undefined as never })).toThrow(/secretScanning\.keyward/);
    expect(() => new SecretScanningEndpoint({ keyward, publicKeysUrl: 'ftp://x' })).toThrow(/secretScanning\.publicKeysUrl.*ftp/);
    expect(() => new SecretScanningEndpoint({ keyward, policy: 'burn' as never })).toThrow(/secretScanning\.policy/);
    expect(() => new SecretScanningEndpoint({ keyward, policy: 'rotate' })).toThrow(/secretScanning\.sink/);
  });

  it('verifies GitHub published sample payload and signature verbatim', async () => {
    const sample = {
      keyId: '90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a',
      pem: [
        '-----BEGIN PUBLIC KEY-----',
        'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9MJJHnMfn2+H4xL4YaPDA4RpJqUq',
        'kCmRCBnYERxZanmcpzQSXs1X/AljlKkbJ8qpVIW4clayyef9gWhFbNHWAA==',
        '-----END PUBLIC KEY-----',
      ].join('\n'),
      payload: '[{"token":"some_token","type":"some_type","url":"some_url"}]',
      signature: 'MEUCIQDKZokqnCjrRtw0tni+2Ltvl/uiMJ1EGumEsp1BsNr32AIgQY1YXD2nlj+XNfGK4rBfkMJ1JDOQcYXxa2sY8FNkrKc=',
    };
    const keyDocument = JSON.stringify({ public_keys: [{ key_identifier: sample.keyId, key: sample.pem, is_current: true }] });
    const keyward = createKeyward({ store: new MemoryStore() });
    const endpoint = new SecretScanningEndpoint({
      keyward,
      fetch: async () => new Response(keyDocument, { headers: { 'content-type': 'application/json' } }),
    });
    const headers = { 'github-public-key-identifier': sample.keyId, 'github-public-key-signature': sample.signature };
    const ok = await endpoint.handle({ headers, rawBody: Buffer.from(sample.payload) });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual([
      { token_hash: createHash('sha256').update('some_token').digest('hex'), token_type: 'some_type', label: 'false_positive' },
    ]);
    const tampered = await endpoint.handle({ headers, rawBody: Buffer.from(sample.payload.replace('some_url', 'other_url')) });
    expect(tampered.status).toBe(401);
    await keyward.close();
  });

  it('revokes a leaked live key, labels each token, and answers with token hashes, never the token', async () => {
    const { keyward, endpoint } = setup();
    const live = await keyward.issue('acme');
    await keyward.issue('rotating');
    const rotation = await keyward.rotate('rotating');
    const retired = await keyward.issue('gone');
    await keyward.revoke(retired.id, { reason: 'offboarded' });
    const tokens = [live.key, rotation.key as string, retired.key, generateKey('sk_live'), 'garbage'];
    const { rawBody, headers } = github.report(
      tokens.map((token) => ({ token, type: 'keyward_api_key', url: URL_FOUND, source: 'content' })),
    );
    const res = await endpoint.handle({ headers, rawBody, source: '192.0.2.1' });
    expect(res.status).toBe(200);
    const answer = JSON.parse(res.body);
    expect(answer.map((a: { label: string }) => a.label)).toEqual([
      'true_positive',
      'true_positive',
      'true_positive',
      'false_positive',
      'false_positive',
    ]);
    expect(answer[0].token_hash).toBe(createHash('sha256').update(live.key).digest('hex'));
    for (const token of tokens) expect(res.body).not.toContain(token);
    expect(await keyward.verify(live.key)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(await keyward.verify(rotation.key)).toMatchObject({ valid: false, reason: 'revoked' });
    // Replay of the same report: nothing revoked twice, same labels.
    const replay = await endpoint.handle({ headers, rawBody, source: '192.0.2.1' });
    expect(JSON.parse(replay.body).map((a: { label: string }) => a.label)).toEqual(answer.map((a: { label: string }) => a.label));
    expect((await keyward.store.listAudit({})).filter((a) => a.type === 'key.revoked')).toHaveLength(3);
    await keyward.close();
  });

  it('accepts reports signed with the older key (rollover), and fetches the key document again only once a minute', async () => {
    const { keyward, endpoint, clock } = setup();
    const live = await keyward.issue('acme');
    const before = github.fetches;
    const { rawBody, headers } = github.report([{ token: live.key, type: 't', url: URL_FOUND }], 0);
    expect((await endpoint.handle({ headers, rawBody })).status).toBe(200);
    const unknown = { ...headers, 'github-public-key-identifier': 'no-such-key' };
    expect((await endpoint.handle({ headers: unknown, rawBody })).status).toBe(401);
    expect((await endpoint.handle({ headers: unknown, rawBody })).status).toBe(401);
    expect(github.fetches - before).toBe(1); // the first lookup; the unknown id waits for the minute
    clock.advance(61_000);
    expect((await endpoint.handle({ headers: unknown, rawBody })).status).toBe(401);
    expect(github.fetches - before).toBe(2);
    await keyward.close();
  });

  it('refuses what it cannot trust, changing nothing: 401, 400, 413, 503, and 429 after repeated bad signatures', async () => {
    const { keyward, endpoint } = setup();
    const live = await keyward.issue('acme');
    const { rawBody, headers } = github.report([{ token: live.key, type: 't', url: URL_FOUND }]);
    expect((await endpoint.handle({ headers: {}, rawBody })).status).toBe(401);
    const tampered = Buffer.from(rawBody.toString().replace('config.js', 'other.js'));
    expect((await endpoint.handle({ headers, rawBody: tampered })).status).toBe(401);
    expect(
      (await endpoint.handle({ headers: { ...headers, 'github-public-key-signature': 'bm90IGEgc2lnbmF0dXJl' }, rawBody })).status,
    ).toBe(401);
    // Signed, but not JSON.
    const broken = Buffer.from('{not json');
    const signedGarbage = {
      headers: {
        ...headers,
        'github-public-key-signature': sign('sha256', broken, github.keys[1]?.privateKey as KeyObject).toString('base64'),
      },
      rawBody: broken,
    };
    expect((await endpoint.handle(signedGarbage)).status).toBe(400);
    const tooMany = github.report(Array.from({ length: 1001 }, () => ({ token: 'x', type: 't', url: URL_FOUND })));
    expect((await endpoint.handle(tooMany)).status).toBe(400);
    expect((await endpoint.handle({ headers, rawBody: Buffer.alloc(1024 * 1024 + 1) })).status).toBe(413);
    expect(await keyward.verify(live.key)).toMatchObject({ valid: true });
    // A source that keeps failing is told to wait, like failed authentications.
    const attacker = { headers: {}, rawBody, source: '203.0.113.9' };
    for (let i = 0; i < 10; i++) await endpoint.handle(attacker);
    expect((await endpoint.handle(attacker)).status).toBe(429);
    // GitHub's key document unreachable: 503, never accepted.
    const fresh = setup();
    github.down = true;
    try {
      expect((await fresh.endpoint.handle({ headers, rawBody })).status).toBe(503);
    } finally {
      github.down = false;
    }
    await keyward.close();
    await fresh.keyward.close();
  });
});
