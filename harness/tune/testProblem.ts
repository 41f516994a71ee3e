/** A small problem for the tuner's CPU tests (reference and emulated kernel in milliseconds). */
import type { Problem } from '../../reference/problem.js';

export function smallProblem(T = 4, overrides: Partial<Problem> = {}): Problem {
  return {
    T, H: 128, I: 64, E: 8, topK: 2, localOffset: 0, localExperts: 8, routing: { method: 'renormalize' },
    logitsDtype: 'float32', biasDtype: 'none', quantMode: 'nvfp4', activation: { kind: 'swiglu' }, ...overrides,
  };
}
