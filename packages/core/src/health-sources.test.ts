import { describe, expect, it } from 'vitest';
import { createBalancer } from './balancer.ts';
import { isPicketError } from './errors.ts';
import type { Outcome } from './outcome.ts';
import { seededRandom } from './random.ts';
import type { BalancerOptions } from './types.ts';

const IDS = ['http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://10.0.0.3:80'];
const [A, B] = IDS as [string, string, string];
const ok: Outcome = { ok: true, latencyMs: 2, status: 200 };

// The balancer's clock is injected: ejections last until a time on it, never on a real timer.
function make(options: BalancerOptions = {}) {
  const lb = createBalancer({ strategy: 'round-robin', random: seededRandom(7), now: () => 0, ...options });
  const stateOf = (id: string) => lb.snapshot().instances.find((i) => i.id === id)?.state;
  const healthOf = (id: string) => lb.snapshot().instances.find((i) => i.id === id)?.health;
  /** Fails every request to `id` until outlier detection ejects it (5 consecutive failures). */
  const eject = (id: string) => {
    for (let i = 0; i < 60 && stateOf(id) !== 'ejected'; i++) {
      const p = lb.pick();
      p.release(p.instance.id === id ? { ok: false, error: 'reset' } : ok);
    }
    expect(stateOf(id)).toBe('ejected');
  };
  const picks = (n: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const p = lb.pick();
      seen.add(p.instance.id);
      p.release(ok);
    }
    return seen;
  };
  return { lb, stateOf, healthOf, eject, picks };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('health sources', () => {
  it("reports a handle's verdicts under its name", () => {
    const { lb, stateOf, healthOf } = make();
    lb.update(IDS);
    const breaker = lb.healthSource('breaker');
    expect(breaker.name).toBe('breaker');
    breaker.set(A, 'unhealthy', 'breaker open');
    expect(stateOf(A)).toBe('unhealthy');
    expect(healthOf(A)).toEqual({ breaker: { state: 'unhealthy', reason: 'breaker open' } });
    breaker.set(A, 'healthy', 'breaker closed');
    expect(stateOf(A)).toBe('healthy');
    expect(healthOf(A)).toEqual({});
    breaker.set('http://10.9.9.9:80', 'unhealthy', 'not a member');
    expect(lb.snapshot().instances).toHaveLength(3);
  });

  it('ends an outlier ejection on a pass from a source registered with endsEjection, whatever its name', () => {
    const { lb, stateOf, eject } = make();
    lb.update(IDS);
    const l7 = lb.healthSource('l7', { endsEjection: true });
    const breaker = lb.healthSource('breaker');
    eject(A);
    breaker.set(A, 'healthy', 'breaker closed');
    expect(stateOf(A)).toBe('ejected');
    l7.set(A, 'healthy', 'l7: status 200');
    expect(stateOf(A)).toBe('healthy');
  });

  it('does not end an ejection for a source named active that did not ask to', () => {
    const { lb, stateOf, eject } = make();
    lb.update(IDS);
    const active = lb.healthSource('active');
    eject(A);
    active.set(A, 'healthy', 'passing');
    expect(stateOf(A)).toBe('ejected');
  });

  it('holds instances back for a source registered with startsUnknown, as for one in healthSources', () => {
    const late = make();
    const declared = make({ healthSources: ['l7'] });
    for (const { lb } of [late, declared]) lb.update([A]);
    const l7 = late.lb.healthSource('l7', { startsUnknown: true });
    const declaredL7 = declared.lb.healthSource('l7');
    for (const [{ lb, stateOf, healthOf, picks }, source] of [
      [late, l7],
      [declared, declaredL7],
    ] as const) {
      // Present when the source registered, and joining after.
      lb.update([A, B]);
      for (const id of [A, B]) {
        expect(stateOf(id)).toBe('unknown');
        expect(healthOf(id)).toEqual({ l7: { state: 'unknown', reason: 'not checked yet' } });
      }
      source.set(B, 'healthy', 'l7: status 200');
      expect(stateOf(B)).toBe('healthy');
      // An unknown instance is used only while no known-healthy one is available.
      expect(picks(20)).toEqual(new Set([B]));
    }
  });

  it('marks nothing unknown for a source registered without startsUnknown', () => {
    const { lb, stateOf } = make();
    lb.update([A]);
    lb.healthSource('breaker');
    lb.update([A, B]);
    expect([stateOf(A), stateOf(B)]).toEqual(['healthy', 'healthy']);
  });

  it('refuses a second registration of a name, typed and naming it', () => {
    const { lb } = make({ healthSources: ['active'] });
    lb.healthSource('active', { endsEjection: true });
    const error = thrown(() => lb.healthSource('active'));
    expect(isPicketError(error) && error.code).toBe('PICKET_INVALID_OPTIONS');
    expect((error as Error).message).toMatch(
      /^Health source "active" is already registered on this balancer/,
    );
  });

  it('refuses a bad name or bad options, typed and naming the value', () => {
    const { lb } = make();
    expect(() => lb.healthSource('')).toThrow('Expected a health source name (a non-empty string), got ""');
    expect(() => lb.healthSource(5 as never)).toThrow('got 5');
    expect(() => lb.healthSource('l7', { endsEjection: 'yes' } as never)).toThrow(
      /Invalid options for health source "l7": `endsEjection` must be a boolean/,
    );
    expect(() => lb.healthSource('l7', { ends: true } as never)).toThrow(/ends/);
    expect(() => lb.healthSource('probe').set(A, 'down' as never)).toThrow(
      `Expected a health state ('healthy', 'unhealthy' or 'unknown') from source "probe", got "down"`,
    );
  });

  it('withdraws a closed source: verdicts cleared, nothing waits for it, the name free again', () => {
    const { lb, stateOf, healthOf } = make();
    lb.update([A, B]);
    const l7 = lb.healthSource('l7', { startsUnknown: true });
    l7.set(A, 'unhealthy', 'l7: status 503');
    const states: string[] = [];
    lb.on('instance-state', (e) => states.push(`${e.to}: ${e.reason}`));
    l7.close();
    l7.close();
    expect(l7.closed).toBe(true);
    expect([stateOf(A), stateOf(B)]).toEqual(['healthy', 'healthy']);
    expect(states).toEqual(['healthy: l7: withdrawn', 'healthy: l7: withdrawn']);
    l7.set(A, 'unhealthy', 'late verdict');
    expect(stateOf(A)).toBe('healthy');
    lb.update([...IDS]);
    expect(healthOf(IDS[2] as string)).toEqual({});
    const again = lb.healthSource('l7', { startsUnknown: true });
    expect(stateOf(A)).toBe('unknown');
    again.set(A, 'healthy');
    expect(stateOf(A)).toBe('healthy');
  });

  it('keeps the deprecated setHealth working: the name selects the source, active ends ejections', () => {
    const { lb, stateOf, eject } = make();
    lb.update(IDS);
    const l7 = lb.healthSource('l7', { endsEjection: true });
    l7.set(B, 'unhealthy', 'l7: status 503');
    lb.setHealth(B, 'healthy', 'l7: status 200', 'l7');
    expect(stateOf(B)).toBe('healthy');
    eject(A);
    lb.setHealth(A, 'healthy', 'l7: status 200', 'l7');
    expect(stateOf(A)).toBe('healthy');
    eject(A);
    lb.setHealth(A, 'healthy', 'passing');
    expect(stateOf(A)).toBe('healthy');
  });

  it('refuses a source past the thirtieth, naming it', () => {
    const { lb } = make();
    for (let i = 0; i < 30; i++) lb.healthSource(`s${i}`);
    expect(() => lb.healthSource('s30')).toThrow('cannot add "s30"');
  });
});
