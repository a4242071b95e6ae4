// A new client under light load, end to end: three equal instances on loopback and 300 requests
// sent one after another with the default strategy (peak-EWMA). They used to go to whichever
// instances' first estimates happened to be lowest (shares of 0% / 64% / 36%), and an instance
// that got none was never checked by passive health either.

import { createClient } from '@picket/http';
import { describe, expect, it } from 'vitest';
import { echo, testResources } from '../fixtures/http-servers.ts';

const resources = testResources();

describe('sequential requests from a new client', () => {
  it('spread over three equal instances, each answering at least 20% of 300', async () => {
    const servers = await Promise.all(['a', 'b', 'c'].map((name) => resources.server(echo(name))));
    const client = resources.track(
      createClient({ service: 'inventory', discovery: servers.map((s) => s.url) }),
    );
    for (let i = 0; i < 300; i++) {
      const res = await client.request({ path: `/items/${i}` });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    const counts = servers.map((s) => s.requests);
    for (const count of counts)
      expect(count, `requests per instance: ${counts.join(' / ')}`).toBeGreaterThanOrEqual(60);
  }, 60_000);
});
