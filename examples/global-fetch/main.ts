// Plain `fetch('http://inventory/…')`, load-balanced. createAgent routes the host `inventory` to a
// Picket client and every other origin to an ordinary undici Agent; setGlobalDispatcher makes it
// the dispatcher of every fetch in the process, Node's built-in fetch included.
//
//   node --conditions=picket-source examples/global-fetch/main.ts

import { createAgent, createClient } from 'picket';
import { getGlobalDispatcher, setGlobalDispatcher, fetch as undiciFetch } from 'undici';
import { startInventory, tally } from '../shared/inventory-server.ts';

const servers = await Promise.all(
  ['inventory-a', 'inventory-b', 'inventory-c'].map((name) => startInventory(name)),
);

const inventory = createClient({
  service: 'inventory',
  discovery: servers.map((s) => s.url),
  // Round robin makes the spread easy to see; the default, peak-EWMA, favours the fastest instances.
  strategy: 'round-robin',
});
const agent = createAgent({ services: [inventory] });
const previous = getGlobalDispatcher();
// undici keeps the agent for its own fetch and, wrapped in its Dispatcher1Wrapper, for Node's
// built-in fetch, which still speaks undici's older handler interface. The agent accepts that
// interface directly too.
setGlobalDispatcher(agent);

async function get(fetchFn: typeof fetch, n: number): Promise<{ by: (string | null)[]; errors: number }> {
  const by: (string | null)[] = [];
  let errors = 0;
  for (let i = 1; i <= n; i++) {
    try {
      const res = await fetchFn(`http://inventory/items/${i}`);
      await res.json();
      if (res.ok) by.push(res.headers.get('x-instance'));
      else errors++;
    } catch {
      errors++;
    }
  }
  return { by, errors };
}

let errors = 0;
try {
  const builtin = await get(globalThis.fetch, 30);
  errors += builtin.errors;
  console.log(
    `Node's built-in fetch, 30 × GET http://inventory/items/:id → ${tally(builtin.by)}; errors ${builtin.errors}`,
  );

  const viaUndici = await get(undiciFetch as unknown as typeof fetch, 30);
  errors += viaUndici.errors;
  console.log(
    `undici's fetch,        30 × GET http://inventory/items/:id → ${tally(viaUndici.by)}; errors ${viaUndici.errors}`,
  );

  // Any other origin is not Picket's business: it goes to the agent's plain undici Agent.
  const direct = await fetch(`${servers[0]!.url}/items/7`);
  await direct.text();
  console.log(
    `Other origins bypass Picket: GET ${servers[0]!.url}/items/7 → ${direct.status} from ${direct.headers.get('x-instance')}`,
  );

  // An instance goes away: its requests are retried on the others, so fetch never sees it.
  await servers[1]!.stop();
  const after = await get(globalThis.fetch, 30);
  errors += after.errors;
  console.log(
    `inventory-b stopped;   30 × GET http://inventory/items/:id → ${tally(after.by)}; errors ${after.errors}`,
  );
} finally {
  setGlobalDispatcher(previous);
  await agent.close();
  await inventory.close();
  await Promise.all(servers.map((s) => s.close()));
}

console.log(
  errors === 0 ? 'Every request answered: plain fetch, balanced by Picket.' : `${errors} request(s) failed.`,
);
process.exitCode = errors === 0 ? 0 : 1;
