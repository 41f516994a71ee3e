/**
 * The native kernel under test: an adapter over native/index.ts (the only door to the
 * CUDA addon). Faults are passed per run (they exist only in the faults build).
 */
import type { Case } from '../../reference/case.js';
import { UnsupportedProblemError } from '../../reference/errors.js';
import type { Problem } from '../../reference/problem.js';
import {
  inputsDigest, nativeStatus, prepare, release, runMoe, selectNativeVariant, validTactics, type NativeHandle,
} from '../../native/index.js';
import type { FaultName } from '../faults.js';
import { makeTactic, type KernelUnderTest, type Observed, type RunOptions, type Tactic } from './kernel.js';

export interface NativeOptions {
  readonly fault?: FaultName;
}

export class NativeKernel implements KernelUnderTest<NativeHandle> {
  readonly name: string;
  readonly fault: FaultName | undefined;

  constructor(opts: NativeOptions = {}) {
    this.fault = opts.fault;
    this.name = opts.fault ? `native+fault:${opts.fault}` : 'native';
    // Faults exist only in the faults build of the addon (native/build.mjs --faults).
    if (opts.fault !== undefined) selectNativeVariant('faults');
    const s = nativeStatus();
    if (!s.loaded || !s.builtWithCuda) {
      throw new UnsupportedProblemError('native kernel', 'the CUDA addon loaded and built with CUDA', s.reason ?? (s.loaded ? 'built without CUDA' : 'not loaded'));
    }
    if (opts.fault !== undefined && !s.faultsBuild) {
      throw new UnsupportedProblemError('fault', 'the native faults build (MOE_FAULTS=ON)', 'a build without faults');
    }
  }

  tactics(problem: Problem): Tactic[] {
    return validTactics(problem).map((t) => makeTactic(t.tileTokens, t.config));
  }

  prepare(c: Case): Promise<NativeHandle> {
    return prepare(c);
  }

  async run(h: NativeHandle, tactic: Tactic, opts: RunOptions): Promise<Observed> {
    const r = await runMoe(h, {
      tactic: { tileTokens: tactic.tileTokens, config: tactic.config },
      poison: opts.poison,
      ...(this.fault !== undefined ? { fault: this.fault } : {}),
    });
    return { output: r.output, ids: r.ids, weights: r.weights, ms: r.ms };
  }

  inputsDigest(h: NativeHandle): Promise<string> {
    return inputsDigest(h);
  }

  release(h: NativeHandle): void {
    release(h);
  }
}
