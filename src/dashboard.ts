// picket/dashboard: a read-only web page of clients' instances, served by the package itself
// (static HTML, CSS and JavaScript) with a Server-Sent Events stream of their snapshots and events.

import type { DashboardOptions } from './dashboard/options.ts';
import { type Dashboard, startDashboard } from './dashboard/server.ts';

// Beside this module in the sources (src/dashboard/static) and in the build (dist/dashboard/static):
// tsup bundles every entry into dist/, and the build copies the folder there.
const STATIC_DIR = new URL('./dashboard/static/', import.meta.url);

/**
 * Serves the dashboard of `options.clients` on `http://127.0.0.1:PORT/` (loopback unless `host`
 * says otherwise) and resolves once it listens; `url` is its address, `close()` stops it.
 *
 * ```ts
 * const d = await dashboard({ clients: [inventory, payments], port: 9901 });
 * console.log(d.url);
 * ```
 */
export function dashboard(options: DashboardOptions): Promise<Dashboard> {
  return startDashboard(options, STATIC_DIR);
}

export type { DashboardOptions } from './dashboard/options.ts';
export type { Dashboard } from './dashboard/server.ts';
export type {
  EventKind,
  EventView,
  HealthView,
  InstanceView,
  ServiceView,
  SnapshotMessage,
} from './dashboard/view.ts';
