// Event-driven waits on providers for tests (this package's and the cross-package suites). Not
// exported from the package.

import type { Instance } from '@picket/core';
import type { Provider, ProviderEvents } from './provider.ts';

/** Resolves with the next `name` event that satisfies `accept`; rejects after `timeoutMs`. */
export function nextEvent<K extends keyof ProviderEvents>(
  provider: Pick<Provider, 'on'>,
  name: K,
  accept: (payload: ProviderEvents[K]) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<ProviderEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`No matching '${String(name)}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = provider.on(name, (payload) => {
      if (!accept(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** Resolves once the provider's snapshot (current or a later one) satisfies `accept`. */
export function untilInstances(
  provider: Pick<Provider, 'on' | 'current'>,
  accept: (instances: readonly Instance[]) => boolean,
  timeoutMs = 20_000,
): Promise<readonly Instance[]> {
  const now = provider.current();
  if (now !== undefined && accept(now)) return Promise.resolve(now);
  return nextEvent(provider, 'snapshot', (e) => accept(e.instances), timeoutMs).then((e) => e.instances);
}

/** Sorted URLs, for comparing snapshots. */
export const urls = (instances: readonly Instance[] | undefined): string[] =>
  (instances ?? []).map((i) => i.url).sort();

/** Counts of the handle kinds that close() must release (timers, sockets, watchers, child processes). */
export function activeHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
