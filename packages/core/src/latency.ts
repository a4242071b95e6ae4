// Latency tracking the balancer keeps on every endpoint: the peak-EWMA, and the peers' figure an
// endpoint is costed at until it has a sample of its own. One tracker per balancer.
//
// An endpoint with no sample (new, or returning from unhealthy, ejected or removed, its old
// sample stale) is costed at the mean of its sampled peers' current EWMAs, and its first answer,
// which carries the connection's setup, only seeds its EWMA at that mean: it competes as an
// average instance until it has answered again, instead of at a fixed default that loses every
// comparison to peers measured at a fraction of it (Finagle costs such an endpoint
// optimistically; gRPC's weighted round robin gives it its peers' mean weight). The default RTT
// serves only while no endpoint has a sample, decaying from when none had (the balancer's start),
// as an endpoint's first estimate always did. The mean, not the median: a running sum keeps it
// O(1) per release and per read, where a median needs an ordered structure; and an endpoint
// without a sample needs only to be tried, which a mean raised by one slow peer still does (the
// newcomer beats that peer), while its own answers decide from then on.
//
// An instance that stops answering (a deadlock, a GC spiral, SIGSTOP, a half-open path) keeps its
// connections, so nothing completes there and its EWMA is never corrected: it decays towards 0,
// and the instance, costed by its in-flight count alone, would win ever more comparisons the
// longer it is silent (12 simulated callers sent one frozen for 20 s 4-7 requests beyond those
// in flight when it stopped, the last 7-19 s in; peak-ewma.test.ts). So while STALLED_IN_FLIGHT
// or more requests are in flight, the time since its last answer is a floor on its estimate:
// silent for longer than its latency, it costs more with every millisecond. One request alone
// never counts: a legitimately long call (a 10 s report) must not make its instance look dead to
// every caller while it runs; beside a second request, that one's answer, at the usual latency,
// lifts the floor again. (Finagle, tower and Envoy cost a silent endpoint by its pending count
// alone, and leave a hang to timeouts and failure accrual.)
//
// Every EWMA decays by the same factor e^(−t/decayMs), so the sum of the decayed EWMAs is one sum
// of ewmaMs × e^((stamp − origin)/decayMs) decayed as a whole: a release changes one term. The
// mean is published as (`peersMs`, `peersStamp`), decaying exactly like an endpoint's EWMA, so a
// picker costs an unsampled endpoint with the same arithmetic and no call.

import type { Outcome } from './outcome.ts';
import type { LatencyTracking } from './strategy.ts';

/** Requests in flight from which the time since an endpoint's last answer floors its estimate. */
export const STALLED_IN_FLIGHT = 2;

/**
 * What the tracker reads and writes on an endpoint: endpoint.ts's Endpoint, which holds its
 * tracker, so a type of its own here keeps the two modules from importing each other.
 */
interface Tracked {
  /** Picks not yet released. */
  active: number;
  /** Summed latency and samples since the endpoint joined or last returned. */
  latencyTotalMs: number;
  latencySamples: number;
  /** Peak-EWMA of latency in ms as of `ewmaStamp`. */
  ewmaMs: number;
  ewmaStamp: number;
  /** Has answered since it joined or last returned. */
  sampled: boolean;
  /** Its EWMA is in the peers' figure; the tracker's to set. */
  counted: boolean;
  pickableAt(now: number): boolean;
  ewmaAt(now: number, decayMs: number): number;
}

// Re-base the sum before e^((t − origin)/decayMs) could overflow (it would at ~700).
const REBASE_AFTER = 64;

export class LatencyTracker {
  readonly decayMs: number;
  /** Latency assumed while no endpoint has a sample. */
  readonly defaultRttMs: number;
  readonly failurePenaltyMs: number;
  /**
   * The peers' mean EWMA as of `peersStamp`, decaying like an EWMA; with no peers, `defaultRttMs`
   * as of when the last left (or the tracker was made). Initialised with numbers: a field
   * declared bare starts as undefined, and V8 then boxes every number stored in it.
   */
  peersMs = 0;
  peersStamp = 0;
  /**
   * The time of the release `record` takes, written by the caller just before the call: a number
   * passed to a call V8 does not inline is boxed on the heap, once per release.
   */
  readonly clock = new Float64Array(1);
  /** Endpoints whose EWMA is in the sum (`counted`): sampled and pickable, the peers. */
  #count = 0;
  /** Σ ewmaMs × e^((ewmaStamp − origin) / decayMs) over the counted endpoints. */
  #sum = 0;
  #origin = 0;
  /** e^((scaleFor − origin) / decayMs), for the last time asked. */
  #scale = 1;
  #scaleFor = 0;
  /** No endpoint is counted, and `peersMs` is the default RTT. */
  #empty = true;

  /** `now`: the balancer's clock when it starts, from which the default RTT decays. */
  constructor(config: LatencyTracking, now = 0) {
    this.decayMs = config.decayMs;
    this.defaultRttMs = config.defaultRttMs;
    this.failurePenaltyMs = config.failurePenaltyMs;
    this.peersMs = config.defaultRttMs;
    this.peersStamp = now;
  }

  /** The peers' mean EWMA decayed to `now`; with no sampled peer, the decayed default RTT. */
  peersAt(now: number): number {
    const elapsed = now - this.peersStamp;
    return elapsed <= 0 ? this.peersMs : this.peersMs * Math.exp(-elapsed / this.decayMs);
  }

  /**
   * The latency `e` is costed at now: its own EWMA, or its peers' while it has no sample; with
   * STALLED_IN_FLIGHT requests in flight, at least the time since its last answer.
   */
  estimateAt(e: Tracked, now: number): number {
    if (!e.sampled) return this.peersAt(now);
    const ewma = e.ewmaAt(now, this.decayMs);
    const silent = now - e.ewmaStamp;
    return e.active >= STALLED_IN_FLIGHT && silent > ewma ? silent : ewma;
  }

  /**
   * Takes a release at `clock[0]` into the endpoint's mean latency, its peak-EWMA (a failure
   * counts as at least `failurePenaltyMs`) and the peers' figure.
   */
  record(e: Tracked, outcome: Outcome, failed: boolean): void {
    const latency = outcome.latencyMs;
    if (latency !== undefined && latency >= 0) {
      e.latencyTotalMs += latency;
      e.latencySamples++;
    }
    const rtt = failed ? Math.max(latency ?? 0, this.failurePenaltyMs) : latency;
    if (rtt === undefined || !(rtt >= 0)) return;
    const now = this.clock[0]!;
    if (!e.sampled) {
      this.#start(e, now);
      // The first answer since joining or returning carries the connection's setup (the first of
      // all, the warm-up of both processes too): it is not taken as the instance's latency, which
      // starts from its peers'. A failure counts at once.
      if (!failed) return;
    }
    const stamp = e.ewmaStamp;
    const elapsed = now - stamp;
    const w = elapsed <= 0 ? 1 : Math.exp(-elapsed / this.decayMs);
    const before = e.ewmaMs;
    // Peak: a slower answer is believed at once; faster ones pull the average down over time.
    const after = rtt > before ? rtt : before * w + rtt * (1 - w);
    e.ewmaMs = after;
    // Outcomes may be reported slightly out of order: the stamp never moves back.
    const at = elapsed > 0 ? now : stamp;
    e.ewmaStamp = at;
    if (!e.counted) return;
    // The term was before × w at `at`; it is now after. The scale changes with the clock's
    // reading (every millisecond or so), not with every release.
    if (at !== this.#scaleFor) this.#rescale(at);
    this.#sum += (after - before * w) * this.#scale;
    this.#publish();
  }

  /**
   * The endpoint's latency history is stale (it returns from unhealthy or ejected, or is added
   * again): it is costed at its peers' figure until it answers again, and its mean latency
   * (weighted response time's figure) starts over.
   */
  forget(e: Tracked): void {
    if (e.counted) {
      e.counted = false;
      this.#count--;
      this.#rescale(e.ewmaStamp);
      this.#sum -= e.ewmaMs * this.#scale;
      this.#publish();
    }
    e.sampled = false;
    e.latencyTotalMs = 0;
    e.latencySamples = 0;
  }

  /** Recomputes the sum over every endpoint (O(n), when the balancer rebuilds), dropping drift. */
  recount(endpoints: Iterable<Tracked>, now: number): void {
    this.#origin = now;
    this.#scaleFor = now;
    this.#scale = 1;
    let count = 0;
    let sum = 0;
    for (const e of endpoints) {
      e.counted = e.sampled && e.pickableAt(now);
      if (!e.counted) continue;
      count++;
      sum += e.ewmaMs * Math.exp((e.ewmaStamp - now) / this.decayMs);
    }
    this.#count = count;
    this.#sum = sum;
    this.#publish();
  }

  /** A first answer: the EWMA starts from the peers' figure, as if measured just now. */
  #start(e: Tracked, now: number): void {
    e.ewmaMs = this.peersAt(now);
    e.ewmaStamp = now;
    e.sampled = true;
    if (!e.pickableAt(now)) return;
    e.counted = true;
    this.#count++;
    this.#rescale(now);
    this.#sum += e.ewmaMs * this.#scale;
    this.#publish();
  }

  /** Sets `#scale` for time `t`, first moving the origin to `t` if it is far from it. */
  #rescale(t: number): void {
    if (Math.abs(t - this.#origin) / this.decayMs > REBASE_AFTER) {
      this.#sum *= Math.exp((this.#origin - t) / this.decayMs);
      this.#origin = t;
    }
    this.#scaleFor = t;
    this.#scale = Math.exp((t - this.#origin) / this.decayMs);
  }

  /** The mean as of the last scale's time. */
  #publish(): void {
    if (this.#count === 0) {
      this.#sum = 0;
      // The default decays from when the last peer left, not from each rebuild without any.
      if (!this.#empty) {
        this.#empty = true;
        this.peersMs = this.defaultRttMs;
        this.peersStamp = this.#scaleFor;
      }
      return;
    }
    this.#empty = false;
    const mean = this.#sum / this.#scale / this.#count;
    // Rounding in the running sum must not make a latency negative.
    this.peersMs = Math.max(mean, 0);
    this.peersStamp = this.#scaleFor;
  }
}
