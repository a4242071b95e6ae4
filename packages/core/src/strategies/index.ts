// Strategies by name, for options and configuration files that name a strategy instead of
// calling its factory. Each name maps to its factory with default options.

import { describeValue, PicketError } from '../errors.ts';
import type { Strategy } from '../strategy.ts';
import type { StrategyName } from '../types.ts';
import { leastRequest } from './least-request.ts';
import { maglev } from './maglev.ts';
import { peakEwma } from './peak-ewma.ts';
import { random } from './random.ts';
import { ringHash } from './ring-hash.ts';
import { roundRobin } from './round-robin.ts';
import { weightedResponseTime } from './weighted-response-time.ts';
import { weightedRoundRobin } from './weighted-round-robin.ts';

const FACTORIES: Readonly<Record<StrategyName, () => Strategy>> = {
  'round-robin': roundRobin,
  random: random,
  'least-request': leastRequest,
  'peak-ewma': peakEwma,
  'weighted-response-time': weightedResponseTime,
  'ring-hash': ringHash,
  maglev: maglev,
  'weighted-round-robin': weightedRoundRobin,
};

/** Every strategy name `strategyByName` accepts. */
export const STRATEGY_NAMES: readonly StrategyName[] = Object.freeze(
  Object.keys(FACTORIES) as StrategyName[],
);

function isStrategyName(name: unknown): name is StrategyName {
  return typeof name === 'string' && Object.hasOwn(FACTORIES, name);
}

/** The strategy called `name`, with default options; throws `PICKET_INVALID_OPTIONS` for any other name. */
export function strategyByName(name: string): Strategy {
  if (!isStrategyName(name)) {
    const valid = STRATEGY_NAMES.map((n) => `'${n}'`).join(', ');
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `Expected \`strategy\` to be one of ${valid}, or a strategy object, got ${describeValue(name)}`,
      { details: { strategy: name } },
    );
  }
  return FACTORIES[name]();
}
