// @picket/http accepts @picket/discovery providers by their shape, without depending on the
// package: checked here, across packages, with the real static-list provider.

import { type Provider, staticList } from '@picket/discovery';
import { createClient, type ProviderLike } from '@picket/http';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { echo, serverOf, startServer, type TestServer } from '../fixtures/http-servers.ts';

let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  a = await startServer(echo('a'));
  b = await startServer(echo('b'));
});
afterAll(async () => {
  await a.close();
  await b.close();
});

describe('a @picket/discovery provider as discovery', () => {
  it('fits the ProviderLike contract', () => {
    expectTypeOf<Provider>().toExtend<ProviderLike>();
  });

  it('routes to its snapshots and follows its updates', async () => {
    const provider = staticList([a.url]);
    const client = createClient({ service: 'inventory', discovery: provider });
    await client.ready({ timeoutMs: 5000 });
    const first = await client.request({ path: '/' });
    expect(await serverOf(first)).toBe('a');
    provider.set([b.url]);
    const second = await client.request({ path: '/' });
    expect(await serverOf(second)).toBe('b');
    await client.close();
  });
});
