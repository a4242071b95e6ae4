// What a request's attempts need from the call they are made for (request.ts implements it):
// its options, its safety to send again, its deadline, and the caller's own faults.

import type { Instance } from '@picket/core';
import type { Dispatcher } from 'undici';
import type { CallerFault } from '../errors.ts';
import type { Caller } from './caller.ts';
import type { DispatchCore, PicketDispatchOptions } from './core.ts';
import type { Safety } from './safety.ts';

/** The call the attempts are made for (request.ts). */
export interface Call {
  readonly core: DispatchCore;
  readonly method: string;
  readonly opts: PicketDispatchOptions;
  readonly caller: Caller;
  readonly deadlineAt: number;
  safety(): Safety;
  /**
   * The options to send to `instance` (its base path prefixed, the caller's Host removed), with
   * the header that asks for a load report when `askLoad`.
   */
  optionsFor(instance: Instance, askLoad: boolean): Dispatcher.DispatchOptions;
  /** The balancer has no instance at all for the call's first pick: wait for discovery, or fail. */
  noInstance(error: unknown): void;
  /** The call's overall deadline is no longer needed. */
  clearDeadline(): void;
  /** The caller's body failed, `error` having ended an attempt. */
  bodyFailed(error: unknown): boolean;
  callerFailed(error: Error, fault: CallerFault): void;
}
