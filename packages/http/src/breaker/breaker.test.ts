import type { Instance } from '@picket/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseClientOptions } from '../config.ts';
import type { BreakerState } from '../contracts.ts';
import { Breaker, type BreakerOwner } from './breaker.ts';

function config(breaker: Record<string, number>) {
  const parsed = parseClientOptions({ service: 's', discovery: [], breaker }).breaker;
  if (parsed === false) throw new Error('breakers are on');
  return parsed;
}

/** A breaker whose owner writes down what it hears, as `open`, `trial-out`, `trial-back`… */
function make(options: Record<string, number>, now = 0) {
  const heard: string[] = [];
  const owner: BreakerOwner = {
    changed: (_b, state: BreakerState) => heard.push(state),
    trial: (_b, out) => heard.push(out ? 'trial-out' : 'trial-back'),
  };
  const breaker = new Breaker({ id: 'a' } as Instance, config(options), now, owner);
  /** One attempt, admitted and settled at `at`; false when refused. */
  const attempt = (at: number, failed: boolean): boolean => {
    if (!breaker.admit(at)) return false;
    breaker.settle(failed, at, breaker.isTrial());
    return true;
  };
  return { breaker, heard, attempt };
}

/** Opens a breaker of volumeThreshold 4 with four failures at `at`. */
function opened(resetTimeoutMs = 500) {
  const made = make({ volumeThreshold: 4, resetTimeoutMs });
  for (let i = 0; i < 4; i++) made.attempt(0, true);
  expect(made.heard).toEqual(['open']);
  return made;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Breaker', () => {
  it('stays closed below volumeThreshold attempts, however many of them fail', () => {
    const { breaker, heard, attempt } = make({ volumeThreshold: 5 });
    for (let i = 0; i < 4; i++) attempt(0, true);
    expect(heard).toEqual([]);
    expect(breaker.counts(0)).toEqual({ state: 'closed', fires: 4, failures: 4, successes: 0, rejects: 0 });
  });

  it('opens when failures pass errorThresholdPercentage of the window, not when they equal it', () => {
    const { breaker, heard, attempt } = make({ volumeThreshold: 4, errorThresholdPercentage: 50 });
    attempt(0, false);
    attempt(0, false);
    attempt(0, true);
    attempt(0, true);
    // 2 of 4 is 50%: not above it.
    expect(heard).toEqual([]);
    attempt(0, true);
    // 3 of 5.
    expect(heard).toEqual(['open']);
    expect(breaker.state).toBe('open');
  });

  it('refuses while open, counting each refusal, and goes half-open after resetTimeoutMs', () => {
    const { breaker, heard, attempt } = opened(500);
    expect(attempt(10, false)).toBe(false);
    expect(attempt(20, false)).toBe(false);
    expect(breaker.counts(20)).toMatchObject({ state: 'open', fires: 4, failures: 4, rejects: 2 });
    vi.advanceTimersByTime(499);
    expect(breaker.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(heard).toEqual(['open', 'half-open']);
    expect(breaker.state).toBe('half-open');
  });

  it('lets one trial through while half-open and closes on its success, with an empty window', () => {
    const { breaker, heard } = opened();
    vi.advanceTimersByTime(500);
    expect(breaker.admit(600)).toBe(true);
    expect(breaker.isTrial()).toBe(true);
    expect(breaker.admit(601)).toBe(false);
    expect(heard).toEqual(['open', 'half-open', 'trial-out']);
    breaker.settle(false, 650, true);
    expect(heard).toEqual(['open', 'half-open', 'trial-out', 'closed']);
    expect(breaker.counts(650)).toEqual({ state: 'closed', fires: 0, failures: 0, successes: 0, rejects: 0 });
    expect(breaker.admit(700)).toBe(true);
    expect(breaker.isTrial()).toBe(false);
  });

  it('reopens when its trial fails, and goes half-open again a reset timeout later', () => {
    const { breaker, heard } = opened(500);
    vi.advanceTimersByTime(500);
    breaker.admit(600);
    breaker.settle(true, 650, true);
    expect(heard).toEqual(['open', 'half-open', 'trial-out', 'open']);
    expect(breaker.admit(660)).toBe(false);
    vi.advanceTimersByTime(500);
    expect(heard.at(-1)).toBe('half-open');
  });

  it('is decided only by its trial: attempts admitted before it opened are counted, not taken for the verdict', () => {
    const { breaker, heard, attempt } = make({ volumeThreshold: 4, resetTimeoutMs: 500 });
    expect([breaker.admit(0), breaker.admit(0)]).toEqual([true, true]);
    for (let i = 0; i < 4; i++) attempt(0, true);
    vi.advanceTimersByTime(500);
    expect(breaker.admit(600)).toBe(true);
    breaker.settle(false, 650, false);
    breaker.settle(true, 660, false);
    expect(breaker.state).toBe('half-open');
    expect(breaker.admit(670)).toBe(false);
    // Fires: the two early ones, three of the four (the third failure opened it), the trial.
    expect(breaker.counts(670)).toMatchObject({ fires: 6, failures: 4, successes: 1, rejects: 2 });
    breaker.settle(true, 700, true);
    expect(heard).toEqual(['open', 'half-open', 'trial-out', 'open']);
  });

  it('lets another request be the trial when the trial ends without a verdict', () => {
    const { breaker, heard } = opened();
    vi.advanceTimersByTime(500);
    breaker.admit(600);
    breaker.settle(undefined, 610, true);
    expect(heard).toEqual(['open', 'half-open', 'trial-out', 'trial-back']);
    expect(breaker.state).toBe('half-open');
    expect(breaker.admit(620)).toBe(true);
    expect(breaker.isTrial()).toBe(true);
  });

  it('counts only the attempts inside the window', () => {
    const { breaker, heard, attempt } = make({ volumeThreshold: 4, windowMs: 1000, buckets: 10 });
    for (let i = 0; i < 3; i++) attempt(0, true);
    attempt(1000, true);
    expect(breaker.counts(1000)).toMatchObject({ fires: 1, failures: 1 });
    expect(heard).toEqual([]);
  });

  it('shuts down: its reset timer cleared, nothing admitted, nothing more heard', () => {
    const { breaker, heard, attempt } = opened();
    expect(vi.getTimerCount()).toBe(1);
    breaker.shutdown();
    breaker.shutdown();
    expect(vi.getTimerCount()).toBe(0);
    expect(breaker.isShutdown).toBe(true);
    vi.advanceTimersByTime(10_000);
    expect(attempt(10_000, false)).toBe(false);
    breaker.settle(false, 10_000, true);
    expect(heard).toEqual(['open']);
  });

  it('keeps no timer while closed, and an unref’d one while open', () => {
    vi.useRealTimers();
    const { breaker, attempt } = make({ volumeThreshold: 1, resetTimeoutMs: 60_000 });
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    attempt(0, true);
    expect(breaker.state).toBe('open');
    // An unref'd timer is not among the resources that keep the process alive.
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(before);
    breaker.shutdown();
  });
});
