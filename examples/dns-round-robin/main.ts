// DNS round robin is not load balancing. The same fleet — three live instances on 127.0.0.2-4 and
// a dead address, 127.0.0.5, still in DNS — called by the same eight callers two ways:
//   1. plain DNS round robin: each caller resolves the name once with node's resolver and keeps
//      the first address, as a typical client (or a caching proxy) does;
//   2. Picket's dns() provider: every caller resolves all records, honours their TTL, spreads
//      its requests itself and routes around the dead address.
// A real dnsmasq on a loopback port serves the records (Debian package dnsmasq-base).
//
//   node --conditions=picket-source examples/dns-round-robin/main.ts

import { Resolver } from 'node:dns/promises';
import { createClient, dns, tcpCheck } from 'picket';
import { Agent, request } from 'undici';
import { type InventoryServer, startInventory } from '../shared/inventory-server.ts';
import { findBinary } from '../shared/system.ts';

const NAME = 'inventory.picket.test';
const LIVE = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const DEAD = '127.0.0.5';
/** Requests each caller sends: a few busy callers and many quiet ones, as in real traffic. */
const VOLUMES = [90, 60, 40, 30, 20, 20, 20, 20];

if (findBinary('dnsmasq') === undefined) {
  console.log(
    'Skipping: dnsmasq is not installed (Debian package dnsmasq-base: apt-get install dnsmasq-base).',
  );
  process.exit(0);
}

/** The three instances on one port, each on its own loopback address (Linux routes all of 127/8). */
async function startFleet(): Promise<{ port: number; servers: InventoryServer[] }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await startInventory(LIVE[0]!, { host: LIVE[0] });
    try {
      const rest = await Promise.all(
        LIVE.slice(1).map((host) => startInventory(host, { host, port: first.port })),
      );
      return { port: first.port, servers: [first, ...rest] };
    } catch (error) {
      await first.close();
      if ((error as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') throw error;
      // The port was taken on another address: try another one.
    }
  }
  throw new Error('no port free on all three addresses');
}

let fleet: Awaited<ReturnType<typeof startFleet>>;
try {
  fleet = await startFleet();
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw error;
  console.log(
    `Skipping: this system cannot listen on ${LIVE.join(', ')} (Linux can; macOS needs aliases on lo0).`,
  );
  process.exit(0);
}
const { startDnsmasq } = await import('../../test/servers/dnsmasq.ts');
const dnsServer = await startDnsmasq({ hosts: { [NAME]: [...LIVE, DEAD] }, ttl: 5 });
const { port, servers } = fleet;
console.log(
  `dnsmasq on ${dnsServer.server} answers ${NAME} with ${[...LIVE, DEAD].join(', ')} (${DEAD} is dead)`,
);
console.log(
  `${VOLUMES.length} callers send ${VOLUMES.join(', ')} requests (${VOLUMES.reduce((a, b) => a + b)} in all)\n`,
);

type Tally = { byAddress: Map<string, number>; errors: number; retried: number };
const newTally = (): Tally => ({ byAddress: new Map(), errors: 0, retried: 0 });
const count = (t: Tally, address: string) => t.byAddress.set(address, (t.byAddress.get(address) ?? 0) + 1);

/** 1. Resolve once, keep the first answer, send every request there. */
async function plainCaller(volume: number, tally: Tally): Promise<void> {
  const resolver = new Resolver();
  resolver.setServers([dnsServer.server]);
  const [address] = await resolver.resolve4(NAME);
  const agent = new Agent({ connect: { timeout: 2000 } });
  try {
    for (let i = 0; i < volume; i++) {
      try {
        const res = await request(`http://${address}:${port}/items/${i}`, { dispatcher: agent });
        await res.body.dump();
        if (res.statusCode === 200) count(tally, address!);
        else tally.errors++;
      } catch {
        tally.errors++;
      }
    }
  } finally {
    await agent.close();
  }
}

/** 2. The same calls through a Picket client discovering the instances with dns(). */
async function picketCaller(volume: number, tally: Tally): Promise<void> {
  const inventory = createClient({
    service: 'inventory',
    discovery: dns({ hostname: NAME, port, servers: [dnsServer.server] }),
    // Each caller spreads its own requests evenly; an L4 check finds the dead address.
    strategy: 'round-robin',
    health: { check: tcpCheck(), interval: 1000 },
  });
  inventory.on('retry', () => tally.retried++);
  try {
    await inventory.ready();
    for (let i = 0; i < volume; i++) {
      try {
        const res = await inventory.request({ path: `/items/${i}` });
        await res.body.dump();
        if (res.statusCode === 200) count(tally, String(res.headers['x-instance']));
        else tally.errors++;
      } catch {
        tally.errors++;
      }
    }
  } finally {
    await inventory.close();
  }
}

const plain = newTally();
const picket = newTally();
try {
  // One caller after another, as they would arrive: each plain caller gets the next rotation.
  for (const volume of VOLUMES) await plainCaller(volume, plain);
  await Promise.all(VOLUMES.map((volume) => picketCaller(volume, picket)));
} finally {
  await dnsServer.close();
  await Promise.all(servers.map((s) => s.close()));
}

const total = VOLUMES.reduce((a, b) => a + b);
const cell = (n: number) =>
  `${String(n).padStart(4)} (${String(Math.round((100 * n) / total)).padStart(2)} %)`;
const header = ['', ...LIVE, `${DEAD} (dead)`]
  .map((h, i) => (i === 0 ? h.padEnd(22) : h.padStart(18)))
  .join('');
const row = (label: string, t: Tally) =>
  label.padEnd(22) +
  [...LIVE.map((a) => cell(t.byAddress.get(a) ?? 0)), `${t.errors} errors`]
    .map((c) => c.padStart(18))
    .join('');
console.log(header);
console.log(row('plain DNS round robin', plain));
console.log(row("Picket's dns()", picket));
const spread = (t: Tally) => {
  const n = LIVE.map((a) => t.byAddress.get(a) ?? 0);
  return Math.max(...n) - Math.min(...n);
};
console.log(
  `\nPlain DNS: the busiest instance served ${spread(plain)} more requests than the quietest, and every request of` +
    ` the callers that cached ${DEAD} failed.\nPicket: ${spread(picket)} between busiest and quietest; ${picket.retried}` +
    ` attempt(s) on ${DEAD} were retried on a live instance, and health checks took it out.`,
);
const ok = picket.errors === 0 && picket.byAddress.size === LIVE.length;
console.log(ok ? 'Picket balanced the fleet with no errors.' : 'Picket did not balance as expected.');
process.exitCode = ok ? 0 : 1;
