// The default caller id for random subsetting. It should be unique among the callers of a
// service, so that they spread over its instances, and survive a restart of the process, so that
// a restarted caller returns to the instances (and their warm connections and caches) it had.
// Host name + pid is unique but changes on every restart; the host name alone is stable (a
// Kubernetes pod's name, a VM's name) but shared by the processes of one host, so a stable
// per-host discriminator is added when the process manager gives one.

import cluster from 'node:cluster';
import { hostname } from 'node:os';

/**
 * The caller id random subsetting uses by default: `PICKET_CALLER_ID` when set, else the host name,
 * with pm2's `NODE_APP_INSTANCE` or the cluster worker's id when there is one.
 */
export function callerIdFromEnvironment(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.PICKET_CALLER_ID;
  if (explicit !== undefined && explicit !== '') return explicit;
  const host = hostname();
  // pm2 numbers its instances 0..n-1 and keeps the number across restarts.
  const slot = env.NODE_APP_INSTANCE ?? env.pm_id;
  if (slot !== undefined && slot !== '') return `${host}#${slot}`;
  // A cluster worker's id grows on each restart: stable only while the primary lives.
  if (cluster.isWorker && cluster.worker !== undefined) return `${host}#w${cluster.worker.id}`;
  return host;
}
