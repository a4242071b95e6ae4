// axios on Picket: `axios.create({ adapter: axiosAdapter(client) })`. Requests keep axios's
// behaviour (interceptors, JSON, errors by status) and gain Picket's: a picked instance, retries
// of idempotent requests on another instance, and circuit breakers.
//
//   node --conditions=picket-source examples/axios/main.ts

import axios, { isAxiosError } from 'axios';
import { createClient } from 'picket';
import { axiosAdapter } from 'picket/axios';
import { startInventory, tally } from '../shared/inventory-server.ts';

const servers = await Promise.all(['inventory-a', 'inventory-b'].map((name) => startInventory(name)));
// A third instance in the list that is down: nothing listens on its port any more.
const gone = await startInventory('inventory-gone');
await gone.stop();

const inventory = createClient({
  service: 'inventory',
  discovery: [...servers.map((s) => s.url), gone.url],
  strategy: 'round-robin',
});
let retries = 0;
inventory.on('retry', () => retries++);

const api = axios.create({ baseURL: 'http://inventory', adapter: axiosAdapter(inventory), timeout: 5000 });
let seq = 0;
api.interceptors.request.use((config) => {
  config.headers.set('x-request-id', `req-${++seq}`);
  return config;
});

let problems = 0;
try {
  // GETs are idempotent: an attempt on the dead instance is retried on a live one.
  const by: string[] = [];
  for (let i = 1; i <= 20; i++) {
    const res = await api.get<{ id: number; servedBy: string }>(`/items/${i}`);
    by.push(res.data.servedBy);
  }
  console.log(
    `20 × api.get('/items/:id') → ${tally(by)}; ${retries} attempt(s) on ${gone.name} retried elsewhere`,
  );
  if (by.length !== 20 || by.includes(gone.name)) problems++;

  // A POST is not idempotent: it goes to one instance and is not replayed once it may have
  // reached the server (pass `idempotent: true` to client.fetch/request when it is safe).
  const created = await api.post('/orders', { item: 7, quantity: 2 });
  console.log(`api.post('/orders') → ${created.status} ${JSON.stringify(created.data)}`);
  if (created.status !== 201) problems++;

  // A 4xx is the service's answer, not a failure of the instance: axios rejects as usual, no retry.
  const before = retries;
  try {
    await api.get('/items/unknown');
    problems++;
  } catch (error) {
    if (!isAxiosError(error)) throw error;
    console.log(
      `api.get('/items/unknown') → AxiosError ${error.code}, status ${error.response?.status}; retried: ${retries - before}`,
    );
    if (error.response?.status !== 404 || retries !== before) problems++;
  }
} finally {
  await inventory.close();
  await Promise.all(servers.map((s) => s.close()));
}

console.log(
  problems === 0 ? 'axios behaved as axios, balanced by Picket.' : `${problems} unexpected result(s).`,
);
process.exitCode = problems === 0 ? 0 : 1;
