// The peers of one Eureka cluster, as Eureka's client uses `serviceUrl.defaultZone`: requests go
// to the server in use; one that cannot be reached or answers 5xx hands the request to the next,
// which stays in use from then on. Shared by eureka() and registerEureka().

import { z } from 'zod';
import type { HttpJson, JsonResponse, RequestInit } from './http-json.ts';
import { registryUrl } from './registry-url.ts';

/** The `url` option: one Eureka service URL, or the URLs of several peers of one cluster. */
export const eurekaUrls = z.union(
  [registryUrl, z.array(registryUrl).min(1, { error: 'must list at least one URL' }).readonly()],
  { error: 'must be a URL or a non-empty list of URLs' },
);

export class EurekaPeers {
  readonly #http: HttpJson;
  readonly #bases: readonly string[];
  readonly #onMove: () => void;
  #current = 0;

  /** `onMove` runs when the next peer takes over (its state need not follow on from the last's). */
  constructor(http: HttpJson, urls: string | readonly string[], onMove: () => void = () => {}) {
    this.#http = http;
    this.#bases = (typeof urls === 'string' ? [urls] : urls).map((u) => (u.endsWith('/') ? u : `${u}/`));
    this.#onMove = onMove;
  }

  /**
   * Sends `path` (relative to the service URL, e.g. `apps/INVENTORY`) to the peer in use, then to
   * each other peer in turn while they fail; the last one's answer or error is the result.
   */
  async request(path: string, init: RequestInit & { signal: AbortSignal }): Promise<JsonResponse> {
    for (let tried = 1; ; tried++) {
      const base = this.#bases[this.#current]!;
      try {
        const res = await this.#http.request(new URL(path, base), init);
        if (res.status < 500 || tried >= this.#bases.length) return res;
      } catch (error) {
        if (init.signal.aborted || tried >= this.#bases.length) throw error;
      }
      this.#current = (this.#current + 1) % this.#bases.length;
      this.#onMove();
    }
  }
}
