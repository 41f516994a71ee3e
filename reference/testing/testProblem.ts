/**
 * The one builder of Problems for tests: a small, valid renormalize / NVFP4 / SwiGLU problem
 * (T = 9, H = I = 64, E = 8 all local, k = 2) that the reference and the emulated kernel run in
 * milliseconds, with any field overridden. Suites that need another size say so in the
 * overrides (the tuner's tests use H = 128; the native addon's, T = 2, H = I = 32, E = 4).
 */
import type { Problem } from '../problem.js';

export function testProblem(over: Partial<Problem> = {}): Problem {
  return {
    T: 9, H: 64, I: 64, E: 8, topK: 2, localOffset: 0, localExperts: 8,
    routing: { method: 'renormalize' }, logitsDtype: 'float32', biasDtype: 'none', quantMode: 'nvfp4',
    activation: { kind: 'swiglu' }, ...over,
  };
}
