import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink } from '@keyward/core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyClientEventMap } from '../events.js';
import { createKeyClient } from '../key-client.js';
import { type RealApi, startRealApi } from '../test-support/real-api.js';
import { FileSinkStore } from './file-sink-store.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-sink-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let api: RealApi;
beforeEach(async () => {
  api = await startRealApi();
});
afterEach(() => api.close());

describe('FileSinkStore', () => {
  it('the server pushes the new key into the file; the running client switches without a restart and never calls the endpoint', async () => {
    const sink = new FileSink({ dir });
    const issued = await api.keyward.issue('sinky');
    await sink.deliver({
      rotationId: 'initial',
      clientId: 'sinky',
      keyId: issued.id,
      key: issued.key,
      fingerprint: issued.fingerprint,
      graceUntil: 0,
      expiresAt: null,
    });
    const client = createKeyClient({ baseUrl: api.baseUrl, store: new FileSinkStore({ path: sink.pathFor('sinky') }) });
    const rotated: KeyClientEventMap['rotated'][] = [];
    client.on('rotated', (e) => rotated.push(e));
    expect((await client.fetch(`${api.baseUrl}/orders`)).status).toBe(200);

    const rotation = await api.keyward.startRotation('sinky');
    await sink.deliver({ ...rotation, keyId: rotation.newKeyId, key: rotation.key as string });
    await api.keyward.markDelivered(rotation.rotationId);
    const deadline = Date.now() + 3000;
    while (rotated.length === 0 && Date.now() < deadline) {
      expect((await client.fetch(`${api.baseUrl}/orders`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(rotated).toHaveLength(1);
    expect(rotated[0]?.how).toBe('adopted');
    expect(await client.currentKey()).toBe(rotation.key);
    const res = await client.fetch(`${api.baseUrl}/orders`);
    expect(((await res.json()) as { fingerprint: string }).fingerprint).toBe(rotation.fingerprint);
    expect(api.hits.get('/api-keys/rotate')).toBeUndefined();
    await expect(client.rotate()).rejects.toMatchObject({ code: 'read_only_store' });
    client.close();
  });

  it('rejects a bad path naming the option', () => {
    expect(() => new FileSinkStore({ path: '' })).toThrow(/FileSinkStore\.path/);
  });
});
