/**
 * The float64 oracle and the float32 fast path agree on random small problems, every
 * quant mode and routing method, within the bound derived in docs/error-model.md:
 *
 *   |out32 - out64| <= flip64 + γ(I + 2k + 8)·(abs64 + flip64) + 2(I+1)k·2^-149
 *
 * when both run with the FC1 window ρ = γ(H) (the worst-case float32 accumulation error
 * of the fast path's FC1, any order), so every re-quantization flip of the fast path is
 * inside the oracle's flip allowance.
 */
import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { LOGIT_FAMILIES, SCALE_FAMILIES } from './case.js';
import { f32ToBf16 } from './formats/bf16.js';
import { generateCase } from './generate.js';
import { runReference, shutdownReference } from './moe.js';
import { runOracle64 } from './oracle64.js';
import { tinyProblemArb } from './testing/tinyProblemArb.js';
import { gamma } from './formats/float.js';
import { runs } from '../properties/runs.js';


test.after.always(() => shutdownReference());

const problemArb = tinyProblemArb({ maxT: 6, maxIBlocks: 2 });

testProp('oracle64 and the fast path agree within the derived bound (ρ = γ(H))', [
  problemArb, fc.nat(), fc.constantFrom(...LOGIT_FAMILIES.filter((f) => f !== 'huge')), fc.constantFrom(...SCALE_FAMILIES),
], async (t, problem, seed, logitFamily, scaleFamily) => {
  const c = generateCase({ problem, seed, logitFamily, scaleFamily });
  const rho = gamma(problem.H);
  const fast = await runReference(c, { fc1RelativeError: rho });
  const oracle = runOracle64(c, { fc1RelativeError: rho });
  t.deepEqual(fast.routing, oracle.routing);
  t.is(fast.requant.elements, oracle.requant.elements);
  const { I, topK: k } = problem;
  const g = gamma(I + 2 * k + 8);
  const floor = 2 * (I + 1) * k * 2 ** -149;
  for (let j = 0; j < fast.outputF32.length; j++) {
    const bound = oracle.flipAllowance[j]! + g * (oracle.absAccum[j]! + oracle.flipAllowance[j]!) + floor;
    const o = oracle.outputF32[j]!;
    const d = Math.abs(fast.outputF32[j]! - o);
    if (!(d <= bound)) {
      t.fail(`element ${j}: fast ${fast.outputF32[j]}, oracle ${o}, |d| ${d} > bound ${bound}`);
      return;
    }
    // bf16 rounding is monotone: the fast path's bf16 lies between the bounds' roundings.
    const lo = f32ToBf16(o - bound);
    const hi = f32ToBf16(o + bound);
    const b = fast.outputBf16[j]!;
    const key = (x: number) => (x & 0x8000 ? -(x & 0x7fff) : x);
    if (!(key(lo) <= key(b) && key(b) <= key(hi))) {
      t.fail(`element ${j}: bf16 ${b.toString(16)} outside [${lo.toString(16)}, ${hi.toString(16)}]`);
      return;
    }
  }
  // The fast path's fragility analysis (Cauchy–Schwarz prefilter) finds what the oracle's
  // exhaustive one finds, up to elements whose window edge the two accumulators straddle.
  const df = Math.abs(fast.requant.fragileElements - oracle.requant.fragileElements);
  t.true(df <= Math.max(2, 0.05 * oracle.requant.fragileElements), `fragile ${fast.requant.fragileElements} vs ${oracle.requant.fragileElements}`);
}, { numRuns: runs(40) });
