import { describe, expect, it } from 'vitest';
import { isPicketError } from '../errors.ts';
import { STRATEGY_NAMES, strategyByName } from './index.ts';
import { thrown } from './testing.ts';

describe('strategyByName', () => {
  it('knows all eight strategies', () => {
    expect([...STRATEGY_NAMES].sort()).toEqual(
      [
        'least-request',
        'maglev',
        'peak-ewma',
        'random',
        'ring-hash',
        'round-robin',
        'weighted-response-time',
        'weighted-round-robin',
      ].sort(),
    );
  });

  it('returns the strategy of that name with default options', () => {
    for (const name of STRATEGY_NAMES) expect(strategyByName(name).name).toBe(name);
    expect(strategyByName('peak-ewma').latency).toEqual({
      decayMs: 10_000,
      defaultRttMs: 30,
      failurePenaltyMs: 250,
    });
  });

  it('rejects an unknown name, listing the valid ones and the value given', () => {
    for (const name of ['roundrobin', 'toString', '']) {
      const error = thrown(() => strategyByName(name));
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect(error.message).toContain(`got ${JSON.stringify(name)}`);
      for (const valid of STRATEGY_NAMES) expect(error.message).toContain(`'${valid}'`);
    }
  });
});
