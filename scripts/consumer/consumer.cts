// Type-checked against the installed CommonJS declarations (.d.cts), never run: a CommonJS consumer
// under nodenext, with `import … = require()`.
import picket = require('picket');
import picketAxios = require('picket/axios');
import picketDashboard = require('picket/dashboard');
import axios = require('axios');

// A client's metrics options by their public name.
export const metrics: picket.MetricsOptions = { perInstance: false };

// The plumbing Picket's packages share, from its CommonJS declarations.
export type Shared = typeof import('@picket/core/internal')['parseWith'];

export async function consume(): Promise<number> {
  const client: picket.Client = picket.createClient({
    service: 'inventory',
    discovery: ['http://127.0.0.1:8001'],
  });
  // @ts-expect-error: `discovery` is required
  picket.createClient({ service: 'inventory' });
  try {
    const res = await client.request('/items/42');
    const api = axios.create({ adapter: picketAxios.axiosAdapter(client) });
    const { status } = await api.get('/items/42');
    const board: picketDashboard.Dashboard = await picketDashboard.dashboard({ clients: [client] });
    // @ts-expect-error: `clients` is required
    picketDashboard.dashboard({ port: 0 });
    await board.close();
    return res.statusCode + status + board.url.length;
  } catch (error) {
    if (picket.isPicketError(error, 'PICKET_NO_AVAILABLE_INSTANCE')) return -1;
    throw error;
  } finally {
    await client.close();
  }
}
