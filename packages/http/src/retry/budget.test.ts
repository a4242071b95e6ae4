import { describe, expect, it } from 'vitest';
import { retryBudget } from './budget.ts';

describe('retryBudget', () => {
  it('allows minPerSecond × window retries with no traffic, then refuses', () => {
    let now = 0;
    const budget = retryBudget({ percent: 20, minPerSecond: 1, windowMs: 10_000 }, () => now);
    let allowed = 0;
    for (let i = 0; i < 50; i++) if (budget.withdraw()) allowed++;
    expect(allowed).toBe(10);
    now = 1000;
    expect(budget.withdraw()).toBe(false);
  });

  it('adds percent of the requests in the window', () => {
    let now = 0;
    const budget = retryBudget({ percent: 20, minPerSecond: 0, windowMs: 10_000 }, () => now);
    for (let i = 0; i < 100; i++) budget.deposit();
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (budget.withdraw()) allowed++;
    expect(allowed).toBe(20);
    now = 500;
    expect(budget.withdraw()).toBe(false);
  });

  it('forgets requests and retries that slid out of the window', () => {
    let now = 0;
    const budget = retryBudget({ percent: 50, minPerSecond: 0, windowMs: 1000 }, () => now);
    for (let i = 0; i < 10; i++) budget.deposit();
    for (let i = 0; i < 5; i++) expect(budget.withdraw()).toBe(true);
    expect(budget.withdraw()).toBe(false);
    now = 2000;
    expect(budget.available()).toBe(0);
    for (let i = 0; i < 4; i++) budget.deposit();
    expect(budget.available()).toBe(2);
  });

  it('is unlimited when off', () => {
    const budget = retryBudget(false);
    for (let i = 0; i < 1000; i++) expect(budget.withdraw()).toBe(true);
  });
});
