// Zod fields the providers and registrars share.

import { durationSchema } from '@picket/core/internal';

// Ports, counts, names and function options: Picket's shared fields, with their one wording.
export { fn, integer, nonEmptyString, port } from '@picket/core/internal';

/**
 * A duration option: Picket's one rule (milliseconds up to 2³¹−1), in whole milliseconds (the
 * registries' duration fields and node:dns take integers), from `min` to `max`.
 */
export const wholeMs = (min: number, max?: number) => durationSchema({ min, max, integer: true });
